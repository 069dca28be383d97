"""Greek P&L attribution of the option book, per step and in total.

For each step ``t-1 -> t`` and each option slot held over it (from its open bar to its close
bar, read from ``result.rolls``), with greeks taken at the START of the step (index price
``S = S_{t-1}``, implied vol ``sigma = sigma_{t-1}`` at the slot's strike, time to expiry
``tau_{t-1}``):

* delta P&L  = delta x dS
* gamma P&L  = 1/2 x gamma x dS^2
* theta P&L  = theta x dt        (theta per year as calendar time passes; dt in years, up to
  the expiry when the step crosses it)
* vega P&L   = vega x d(sigma)   (vega per 1.00 of vol; 0 on the step that expires the slot)
* residual   = option P&L - (delta + gamma + theta + vega): the higher-order terms (speed,
  vanna, volga, charm, ...) and the jump to intrinsic at expiry. Defined as the difference,
  so the components add up to the engine's option P&L exactly.

Besides the option book, each row carries the engine's other flows: ``hedge_pnl`` (the perps'
mark-to-market, the equity frame's ``perp_pnl``), ``funding_pnl``, ``fee_pnl`` (= -fees,
option fees included), ``slippage_pnl`` (= -slippage) and ``fx_pnl`` (revaluation of coin
balances), so ``total_pnl`` is the step's equity change (up to the engine's own accounting
residual, < 1e-9 of notional).

Coin-settled options (``settlement="inverse"``): the slot value is in coin, ``V_usd / S``; the
engine books the coin value change times the venue's USD rate at the end of the step. The
attribution expands the coin value with the exact coin greeks (``pricing.greeks(...,
settlement="inverse")``) and converts each term at that same rate, so it is exact in the same
sense as for linear options; the revaluation of coin already held is ``fx_pnl``.

Needs the roll log, i.e. a ``record="full"`` result; a ``record="summary"`` result raises
``ValueError``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from gammaperp.analytics._common import NS_PER_YEAR, json_safe, venue_fx, venue_row
from gammaperp.pricing import greeks

__all__ = [
    "Attribution",
    "SlotSteps",
    "attribute_pnl",
    "option_slots",
    "slot_steps",
    "smile_vol",
]

COMPONENTS = ("delta_pnl", "gamma_pnl", "theta_pnl", "vega_pnl", "option_residual")
FLOWS = ("hedge_pnl", "funding_pnl", "fee_pnl", "slippage_pnl", "fx_pnl")


class Attribution(NamedTuple):
    """``frame``: one row per recorded step (UTC index), USD; ``totals``: column sums and
    ratios as a JSON-safe dict."""

    frame: pd.DataFrame
    totals: dict[str, Any]


class SlotSteps(NamedTuple):
    """One row per (option slot, step) held; greeks are the slot's (quantity-weighted, in the
    slot's settlement currency) at the start of the step."""

    bar: np.ndarray  # int64: the step's END bar t (the step is t-1 -> t)
    slot: np.ndarray  # int64: row of :func:`option_slots`
    s0: np.ndarray  # index price at t-1
    ds: np.ndarray  # S_t - S_{t-1}
    dt: np.ndarray  # years of option life that pass in the step
    sigma0: np.ndarray  # implied vol at the strike at t-1
    dsigma: np.ndarray  # sigma_t - sigma_{t-1} at the strike (0 on an expiring step)
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray
    usd: np.ndarray  # USD per unit of the slot's currency at t (1 for USD venues)


def smile_vol(atm: Any, strike: Any, spot: Any, skew: float = 0.0, curvature: float = 0.0):
    """The engine's implied vol at a strike: ``atm + skew m + curvature m^2`` with
    ``m = ln(K/S)``, floored at 1e-4 (exactly ``atm`` when skew and curvature are 0)."""
    atm = np.asarray(atm, dtype=np.float64)
    if skew == 0.0 and curvature == 0.0:
        return atm
    m = np.log(np.asarray(strike, dtype=np.float64) / np.asarray(spot, dtype=np.float64))
    return np.maximum(atm + skew * m + curvature * m * m, 1e-4)


def option_slots(result: Any) -> pd.DataFrame:
    """The option slots of a run, rebuilt from the roll log.

    One row per slot: ``open_bar``, ``end_bar`` (the bar of its expire / close / liquidated
    event, or the last bar run when still open), ``end_event`` (``"open"`` when still held at
    the end), ``strike``, ``expiry_ns``, ``call_qty``, ``put_qty`` (signed coin; negative =
    short). A slot is held over the steps ``open_bar+1 .. end_bar``. Close events are matched
    to the earliest open slot with the same strike, expiry and quantities.
    """
    cols = ["open_bar", "end_bar", "end_event", "strike", "expiry_ns", "call_qty", "put_qty"]
    if not getattr(result, "full", True):
        raise ValueError(
            "option slots need the roll log, which only a record='full' result keeps; re-run "
            "with record='full'"
        )
    rolls = result.rolls
    last_bar = int(result.summary.get("bars_run", result.market.n_bars)) - 1
    open_slots: list[dict[str, Any]] = []
    done: list[dict[str, Any]] = []
    bars = rolls["bar"].to_numpy(dtype=np.int64)
    events = rolls["event"].to_numpy()
    strikes = rolls["strike"].to_numpy(dtype=np.float64)
    expiries = pd.DatetimeIndex(rolls["expiry"]).as_unit("ns").asi8
    cq = rolls["call_qty"].to_numpy(dtype=np.float64)
    pq = rolls["put_qty"].to_numpy(dtype=np.float64)
    for j in range(len(rolls)):  # one iteration per roll event, not per bar
        key = (strikes[j], int(expiries[j]), cq[j], pq[j])
        if events[j] == "open":
            open_slots.append({"key": key, "open_bar": int(bars[j])})
            continue
        match = next((s for s in open_slots if s["key"] == key), None)
        if match is None:  # quantities may differ in the last bit: strike and expiry suffice
            match = next((s for s in open_slots if s["key"][:2] == key[:2]), None)
        if match is None:
            continue
        open_slots.remove(match)
        match.update(end_bar=int(bars[j]), end_event=str(events[j]))
        done.append(match)
    for s in open_slots:
        s.update(end_bar=last_bar, end_event="open")
        done.append(s)
    done.sort(key=lambda s: (s["open_bar"], s["end_bar"]))
    return pd.DataFrame(
        {
            "open_bar": np.array([s["open_bar"] for s in done], dtype=np.int64),
            "end_bar": np.array([s["end_bar"] for s in done], dtype=np.int64),
            "end_event": [s["end_event"] for s in done],
            "strike": np.array([s["key"][0] for s in done], dtype=np.float64),
            "expiry_ns": np.array([s["key"][1] for s in done], dtype=np.int64),
            "call_qty": np.array([s["key"][2] for s in done], dtype=np.float64),
            "put_qty": np.array([s["key"][3] for s in done], dtype=np.float64),
        },
        columns=cols,
    )


def _empty_steps() -> SlotSteps:
    f = np.zeros(0, dtype=np.float64)
    i = np.zeros(0, dtype=np.int64)
    return SlotSteps(i, i, f, f, f, f, f, f, f, f, f, f)


def slot_steps(result: Any) -> SlotSteps:
    """Every (slot, step) pair the option book was held over, with start-of-step greeks.

    Vectorised: one :func:`gammaperp.pricing.greeks` call per option kind over all pairs.
    """
    st = result.spec.strategy
    if st is None:
        return _empty_steps()
    slots = option_slots(result)
    if slots.empty:
        return _empty_steps()
    m = result.market
    oi = m.instrument_index(st.instrument)
    und = int(m.inst_underlying[oi])
    spot = np.asarray(m.index[oi], dtype=np.float64)
    atm = np.asarray(m.iv[und], dtype=np.float64)
    skew, curv = (float(x) for x in m.smile[und])
    ts = np.asarray(m.ts, dtype=np.int64)
    usd = venue_fx(result, venue_row(result, st.venue))

    lengths = (slots["end_bar"] - slots["open_bar"]).to_numpy(dtype=np.int64).clip(min=0)
    sid = np.repeat(np.arange(len(slots), dtype=np.int64), lengths)
    if sid.size == 0:
        return _empty_steps()
    # start bar of each pair: open_bar, open_bar+1, ..., end_bar-1 for each slot
    first = np.repeat(slots["open_bar"].to_numpy(dtype=np.int64), lengths)
    offs = np.arange(sid.size, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    b0 = first + offs
    b1 = b0 + 1
    k = slots["strike"].to_numpy()[sid]
    exp_ns = slots["expiry_ns"].to_numpy()[sid]
    cq = slots["call_qty"].to_numpy()[sid]
    pq = slots["put_qty"].to_numpy()[sid]

    s0, s1 = spot[b0], spot[b1]
    tau0 = np.maximum(exp_ns - ts[b0], 0) / NS_PER_YEAR
    dt = np.maximum(np.minimum(ts[b1], exp_ns) - ts[b0], 0) / NS_PER_YEAR
    sig0 = smile_vol(atm[b0], k, s0, skew, curv)
    sig1 = smile_vol(atm[b1], k, s1, skew, curv)
    dsig = np.where(ts[b1] >= exp_ns, 0.0, sig1 - sig0)

    model = st.model
    r = float(st.rate)
    q = 0.0 if model == "black76" else float(st.carry)
    gc = greeks("call", s0, k, tau0, sig0, r, q, model, st.settlement)
    gp = greeks("put", s0, k, tau0, sig0, r, q, model, st.settlement)

    def leg(name: str) -> np.ndarray:
        return cq * np.asarray(getattr(gc, name)) + pq * np.asarray(getattr(gp, name))

    return SlotSteps(
        bar=b1,
        slot=sid,
        s0=s0,
        ds=s1 - s0,
        dt=dt,
        sigma0=np.asarray(sig0, dtype=np.float64),
        dsigma=dsig,
        delta=leg("delta"),
        gamma=leg("gamma"),
        theta=leg("theta"),
        vega=leg("vega"),
        usd=usd[b1],
    )


def _per_row(result: Any, bars: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum per-bar values into the equity frame's rows (row = bar // stride)."""
    n_rows = len(result.equity)
    rows = bars // int(getattr(result, "stride", 1) or 1)
    return np.bincount(rows, weights=values, minlength=n_rows)[:n_rows]


def attribute_pnl(result: Any) -> Attribution:
    """Per-step and total P&L attribution (USD) of a ``record="full"`` result.

    Columns: ``price`` (option underlying index), ``iv`` (ATM implied vol), ``delta_pnl``,
    ``gamma_pnl``, ``theta_pnl``, ``vega_pnl``, ``option_residual``, ``option_pnl`` (the
    engine's; = the five before it exactly), ``hedge_pnl``, ``funding_pnl``, ``fee_pnl``,
    ``slippage_pnl``, ``fx_pnl``, ``total_pnl`` (= option_pnl + the five flows), and the book's
    ``gamma`` / ``theta`` at the start of the step (USD units: gamma per USD^2, theta per year).

    ``totals`` holds the column sums plus ``gross_gamma_theta`` = |sum gamma_pnl| + |sum
    theta_pnl| and ``residual_share`` = |sum option_residual| / gross_gamma_theta (None when
    the book never held an option).
    """
    if not getattr(result, "full", True):
        raise ValueError(
            "P&L attribution needs the roll log, which only a record='full' result keeps; "
            "re-run with record='full'"
        )
    eq = result.equity
    ss = slot_steps(result)
    u = ss.usd
    per_bar = {
        "delta_pnl": u * ss.delta * ss.ds,
        "gamma_pnl": u * 0.5 * ss.gamma * ss.ds * ss.ds,
        "theta_pnl": u * ss.theta * ss.dt,
        "vega_pnl": u * ss.vega * ss.dsigma,
        "gamma": u * ss.gamma,
        "theta": u * ss.theta,
    }
    rows = {k: _per_row(result, ss.bar, v) for k, v in per_bar.items()}
    option_pnl = eq["option_pnl"].to_numpy(dtype=np.float64)
    explained = rows["delta_pnl"] + rows["gamma_pnl"] + rows["theta_pnl"] + rows["vega_pnl"]
    price = eq["price"] if "price" in eq.columns else pd.Series(np.nan, index=eq.index)
    frame = pd.DataFrame(
        {
            "price": price.to_numpy(dtype=np.float64),
            "iv": eq["iv"].to_numpy(dtype=np.float64),
            "delta_pnl": rows["delta_pnl"],
            "gamma_pnl": rows["gamma_pnl"],
            "theta_pnl": rows["theta_pnl"],
            "vega_pnl": rows["vega_pnl"],
            "option_residual": option_pnl - explained,
            "option_pnl": option_pnl,
            "hedge_pnl": eq["perp_pnl"].to_numpy(dtype=np.float64),
            "funding_pnl": eq["funding"].to_numpy(dtype=np.float64),
            "fee_pnl": -eq["fees"].to_numpy(dtype=np.float64),
            "slippage_pnl": -eq["slippage"].to_numpy(dtype=np.float64),
            "fx_pnl": eq["fx"].to_numpy(dtype=np.float64),
        },
        index=eq.index,
    )
    frame["total_pnl"] = frame["option_pnl"] + frame[list(FLOWS)].sum(axis=1)
    frame["gamma"] = rows["gamma"]
    frame["theta"] = rows["theta"]

    sums = {c: float(frame[c].sum()) for c in frame.columns if c.endswith(("_pnl", "_residual"))}
    gross = abs(sums["gamma_pnl"]) + abs(sums["theta_pnl"])
    totals: dict[str, Any] = dict(sums)
    totals["gross_gamma_theta"] = gross
    totals["residual_share"] = abs(sums["option_residual"]) / gross if gross > 0 else None
    totals["settlement"] = getattr(result.spec.strategy, "settlement", None)
    return Attribution(frame, json_safe(totals))
