"""Realised volatility estimators, realised vs implied, and the theoretical gamma P&L.

Estimators (rolling over ``window`` bars, per-bar variance averaged, then annualised with
``bars_per_year = 365 x 86,400 / bar_seconds``; every one assumes zero drift):

* close-to-close: ``var = mean(r_i^2)``, ``r_i = ln(C_i / C_{i-1})`` (``demean=True``: the
  sample variance with ddof = 1 instead);
* Parkinson (1980): ``var = mean(ln(H_i / L_i)^2) / (4 ln 2)``;
* Garman-Klass (1980): ``var = mean(0.5 ln(H_i / L_i)^2 - (2 ln 2 - 1) ln(C_i / O_i)^2)``
  (floored at 0 before the square root).

The value at bar ``i`` uses bars ``i-window+1 .. i`` (close-to-close: the ``window`` returns
ending at ``i``); earlier bars are NaN. No look-ahead.

Theoretical gamma P&L of a delta-hedged book (per step, greeks at the start of the step):
``1/2 Gamma S^2 (sigma_r^2 - sigma_i^2) dt`` with the step's realised variance
``sigma_r^2 = (dS / S)^2 / dt``, which is identically ``1/2 Gamma dS^2 - 1/2 Gamma S^2
sigma_i^2 dt``. Summed over the run it is the attribution's gamma P&L minus the "break-even"
theta; under Black-Scholes with ``r = q = 0`` the second term IS the theta P&L
(``theta = -1/2 Gamma S^2 sigma^2``), so it equals gamma P&L + theta P&L.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.analytics._common import DAYS_PER_YEAR, _ns_index_of, strategy_instrument_row
from gammaperp.analytics.attribution import _per_row, slot_steps

__all__ = [
    "bars_per_year",
    "close_to_close_vol",
    "garman_klass_vol",
    "parkinson_vol",
    "realized_vs_implied",
    "theoretical_gamma_pnl",
]

LN2 = math.log(2.0)
ESTIMATORS = ("close_to_close", "parkinson", "garman_klass")


def bars_per_year(bar_seconds: float) -> float:
    """``365 x 86,400 / bar_seconds``."""
    if not bar_seconds > 0:
        raise ValueError(f"bar_seconds must be > 0, got {bar_seconds}")
    return DAYS_PER_YEAR * 86_400.0 / float(bar_seconds)


def _rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values; NaN until ``window`` values exist."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] < window:
        return out
    c = np.concatenate(([0.0], np.cumsum(x)))
    out[window - 1 :] = (c[window:] - c[:-window]) / window
    return out


def _annualise(var_per_bar: np.ndarray, bar_seconds: float) -> np.ndarray:
    return np.sqrt(np.maximum(var_per_bar, 0.0) * bars_per_year(bar_seconds))


def close_to_close_vol(
    close: Any, window: int, bar_seconds: float, *, demean: bool = False
) -> np.ndarray:
    """Annualised close-to-close vol; element ``i`` uses the ``window`` log returns ending at
    bar ``i`` (NaN for ``i < window``)."""
    c = np.asarray(close, dtype=np.float64)
    r = np.diff(np.log(c))
    if demean:
        if window < 2:
            raise ValueError("demean needs window >= 2")
        m1 = _rolling_mean(r, window)
        m2 = _rolling_mean(r * r, window)
        var = (m2 - m1 * m1) * window / (window - 1)
    else:
        var = _rolling_mean(r * r, window)
    return np.concatenate(([np.nan], _annualise(var, bar_seconds)))


def parkinson_vol(high: Any, low: Any, window: int, bar_seconds: float) -> np.ndarray:
    """Annualised Parkinson vol from each bar's high / low range."""
    hl = np.log(np.asarray(high, dtype=np.float64) / np.asarray(low, dtype=np.float64))
    return _annualise(_rolling_mean(hl * hl / (4.0 * LN2), window), bar_seconds)


def garman_klass_vol(
    open_: Any, high: Any, low: Any, close: Any, window: int, bar_seconds: float
) -> np.ndarray:
    """Annualised Garman-Klass vol from each bar's open, high, low and close."""
    hl = np.log(np.asarray(high, dtype=np.float64) / np.asarray(low, dtype=np.float64))
    co = np.log(np.asarray(close, dtype=np.float64) / np.asarray(open_, dtype=np.float64))
    per_bar = 0.5 * hl * hl - (2.0 * LN2 - 1.0) * co * co
    return _annualise(_rolling_mean(per_bar, window), bar_seconds)


def realized_vs_implied(
    result: Any, window: int = 1440, estimator: str = "close_to_close"
) -> pd.DataFrame:
    """Rolling realised vol of the strategy's instrument (its perp OHLC:
    ``result.market.open/high/low/close``) against the ATM implied vol, per bar.

    Columns: ``close_to_close``, ``parkinson``, ``garman_klass``, ``implied`` (the market's
    ATM IV of the underlying) and ``spread`` = the ``estimator`` column minus ``implied``
    (positive: realised above implied, good for long gamma). Index: every market bar (UTC).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    m = result.market
    i = strategy_instrument_row(result)
    if i is None:
        raise ValueError("realized_vs_implied needs a strategy instrument (spec.strategy)")
    bs = float(m.bar_seconds)
    o, h, lo, c = (
        np.asarray(getattr(m, f)[i], dtype=np.float64) for f in ("open", "high", "low", "close")
    )
    df = pd.DataFrame(
        {
            "close_to_close": close_to_close_vol(c, window, bs),
            "parkinson": parkinson_vol(h, lo, window, bs),
            "garman_klass": garman_klass_vol(o, h, lo, c, window, bs),
            "implied": np.asarray(m.iv[int(m.inst_underlying[i])], dtype=np.float64),
        },
        index=_ns_index_of(m.ts),
    )
    df["spread"] = df[estimator] - df["implied"]
    return df


def theoretical_gamma_pnl(result: Any) -> pd.DataFrame:
    """Per recorded step (USD): the theoretical gamma P&L of the option book and the simulated
    P&L to compare it with.

    Columns: ``dollar_gamma_pnl`` = sum of 1/2 Gamma dS^2, ``variance_cost`` = sum of
    -1/2 Gamma S^2 sigma_i^2 dt (sigma_i: the slot's implied vol at the start of the step),
    ``theoretical`` = their sum = sum of 1/2 Gamma S^2 (sigma_r^2 - sigma_i^2) dt,
    ``simulated`` = option P&L + hedge (perp) P&L from the engine, and
    ``simulated_net`` = simulated + funding - fees - slippage. Needs a ``record="full"``
    result (the roll log).
    """
    if not getattr(result, "full", True):
        raise ValueError("theoretical gamma P&L needs a record='full' result (the roll log)")
    ss = slot_steps(result)
    u = ss.usd
    dollar = _per_row(result, ss.bar, u * 0.5 * ss.gamma * ss.ds * ss.ds)
    cost = _per_row(
        result, ss.bar, -u * 0.5 * ss.gamma * ss.s0 * ss.s0 * ss.sigma0 * ss.sigma0 * ss.dt
    )
    eq = result.equity
    sim = eq["option_pnl"].to_numpy(dtype=np.float64) + eq["perp_pnl"].to_numpy(dtype=np.float64)
    net = (
        sim
        + eq["funding"].to_numpy(dtype=np.float64)
        - eq["fees"].to_numpy(dtype=np.float64)
        - eq["slippage"].to_numpy(dtype=np.float64)
    )
    return pd.DataFrame(
        {
            "dollar_gamma_pnl": dollar,
            "variance_cost": cost,
            "theoretical": dollar + cost,
            "simulated": sim,
            "simulated_net": net,
        },
        index=eq.index,
    )
