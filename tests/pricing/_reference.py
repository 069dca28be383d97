"""Shared grid and QuantLib reference implementations for the pricing tests.

QuantLib conventions used here (checked against the formulas in docs/pricing.md):

* Day counter Actual365Fixed with the evaluation date fixed and expiry ``days`` later, so
  QuantLib's time is exactly ``days / 365``.
* Flat continuously compounded rate and dividend curves; constant Black vol.
* ``VanillaOption.vega`` is per 1.00 of vol, ``theta`` is per year and is dV/dt as calendar time
  passes (spot, rates and vol fixed), ``rho`` is per 1.00 of the risk-free rate with the
  dividend curve fixed, ``dividendRho`` per 1.00 of the dividend yield.
* For Black-76 we use ``ql.BlackCalculator(payoff, forward, stdDev, discount)``: ``value``,
  ``deltaForward``, ``gammaForward``, ``vega(T)``. Our Black-76 theta and rho hold the forward
  fixed; QuantLib's ``theta(spot, T)`` holds ``spot`` fixed with carry ln(F/spot)/T, so passing
  ``spot = F`` (zero carry) gives the fixed-forward theta, and the fixed-forward rho is
  ``rho(T) + dividendRho(T)`` (moving r and the carry yield together keeps F fixed).
"""

from __future__ import annotations

import itertools
import math

import QuantLib as ql

SPOTS = (100.0, 30000.0)
STRIKE_PCTS = (50, 75, 100, 125, 150)
VOLS = (0.20, 0.60, 1.50)
DAYS = (1, 30, 365)
RATES = (0.0, 0.05)
KINDS = ("call", "put")
MODELS = ("bs", "black76")

GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho")


def grid_cases(models=MODELS, extra_q=True):
    """Every grid point as a dict; BS also gets q = 3 % points (with r = 5 %) if extra_q."""
    cases = []
    for model, kind, spot, pct, vol, days, r in itertools.product(
        models, KINDS, SPOTS, STRIKE_PCTS, VOLS, DAYS, RATES
    ):
        qs = (0.0, 0.03) if (model == "bs" and extra_q and r > 0) else (0.0,)
        for q in qs:
            cases.append(
                {
                    "model": model,
                    "kind": kind,
                    "spot": spot,
                    "strike": spot * pct / 100.0,
                    "pct": pct,
                    "vol": vol,
                    "days": days,
                    "t": days / 365.0,
                    "r": r,
                    "q": q,
                }
            )
    return cases


def case_id(c):
    return (
        f"{c['model']}-{c['kind']}-S{c['spot']:g}-K{c['pct']}%-v{c['vol']:g}-"
        f"{c['days']}d-r{c['r']:g}-q{c['q']:g}"
    )


def describe(c):
    return (
        f"model={c['model']} kind={c['kind']} spot={c['spot']!r} strike={c['strike']!r} "
        f"t={c['t']!r} ({c['days']} days) vol={c['vol']!r} r={c['r']!r} q={c['q']!r}"
    )


def ql_bsm(kind, spot, strike, days, vol, r, q):
    """QuantLib AnalyticEuropeanEngine on a BlackScholesMertonProcess.

    The global evaluation date is restored afterwards so other tests are not affected.
    """
    settings = ql.Settings.instance()
    saved = settings.evaluationDate
    today = ql.Date(15, 1, 2024)
    settings.evaluationDate = today
    try:
        dc = ql.Actual365Fixed()
        rts = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc, ql.Continuous))
        qts = ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc, ql.Continuous))
        vts = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, dc))
        process = ql.BlackScholesMertonProcess(ql.QuoteHandle(ql.SimpleQuote(spot)), qts, rts, vts)
        opt_type = ql.Option.Call if kind == "call" else ql.Option.Put
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(opt_type, strike), ql.EuropeanExercise(today + int(days))
        )
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        return {
            "price": option.NPV(),
            "delta": option.delta(),
            "gamma": option.gamma(),
            "vega": option.vega(),
            "theta": option.theta(),
            "rho": option.rho(),
            "dividend_rho": option.dividendRho(),
        }
    finally:
        settings.evaluationDate = saved


def ql_black76(kind, forward, strike, t, vol, r):
    """QuantLib BlackCalculator, greeks w.r.t. the forward with the forward held fixed."""
    opt_type = ql.Option.Call if kind == "call" else ql.Option.Put
    calc = ql.BlackCalculator(
        ql.PlainVanillaPayoff(opt_type, strike), forward, vol * math.sqrt(t), math.exp(-r * t)
    )
    return {
        "price": calc.value(),
        "delta": calc.deltaForward(),
        "gamma": calc.gammaForward(),
        "vega": calc.vega(t),
        "theta": calc.theta(forward, t),
        "rho": calc.rho(t) + calc.dividendRho(t),
    }
