"""Funding-rate sources besides historical series: reconstruction from a premium index.

Perpetual venues set each funding rate from the premium of the perp over its index during the
interval, nudged towards an interest rate and clamped (Binance's published formula)::

    rate = P + clamp(I - P, -0.05 %, +0.05 %)

where ``P`` is the interval's average premium index and ``I`` the interest rate per interval
(0.03 % a day, i.e. 0.01 % per 8 h). Binance averages the premium samples with linearly
increasing weights (1, 2, ..., n: later samples count more); ``weighting="mean"`` gives a plain
average. A venue cap (e.g. +-0.75 % per 8 h on Binance BTCUSDT, depending on the symbol) can be
applied with ``cap``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from gammaperp.errors import DataError

NS_PER_HOUR = 3_600 * 10**9


def clamp_formula(premium, interest, clamp: float = 0.0005):
    """``premium + clip(interest - premium, -clamp, +clamp)`` (scalars or arrays)."""
    p = np.asarray(premium, dtype=np.float64)
    out = p + np.clip(interest - p, -clamp, clamp)
    return float(out) if out.ndim == 0 else out


def funding_from_premium(
    ts_ns,
    premium,
    *,
    interval_hours: float = 8.0,
    interest_per_day: float = 0.0003,
    clamp: float = 0.0005,
    cap: float | None = None,
    weighting: Literal["binance", "mean"] = "binance",
) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct funding events from premium-index samples.

    ``ts_ns`` (int64 ns UTC, ascending) and ``premium`` (decimal, e.g. 0.0002) are the samples.
    Intervals are aligned to UTC midnight; a rate is settled at the end of every interval that
    holds samples (samples stamped exactly at a boundary belong to the interval that ends
    there). Returns ``(funding_ts_ns, rate)``.
    """
    ts = np.asarray(ts_ns, dtype=np.int64)
    p = np.asarray(premium, dtype=np.float64)
    if ts.shape != p.shape or ts.ndim != 1:
        raise DataError("premium: ts and premium must be 1-d arrays of the same length")
    if ts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    if (np.diff(ts) <= 0).any():
        i = int(np.argmax(np.diff(ts) <= 0)) + 1
        raise DataError(f"premium: row {i}: timestamps must be strictly increasing")
    if not np.isfinite(p).all():
        i = int(np.argmax(~np.isfinite(p)))
        raise DataError(f"premium: row {i}: non-finite premium")
    if weighting not in ("binance", "mean"):
        raise DataError(f"weighting must be 'binance' or 'mean', got {weighting!r}")
    step = round(interval_hours * NS_PER_HOUR)
    end = -((-ts) // step) * step  # ceil to the interval end
    keys, start = np.unique(end, return_index=True)
    rates = np.empty(keys.shape[0])
    bounds = np.append(start, ts.shape[0])
    for j in range(keys.shape[0]):
        seg = p[bounds[j] : bounds[j + 1]]
        if weighting == "binance":
            w = np.arange(1, seg.shape[0] + 1, dtype=np.float64)
            rates[j] = float(np.dot(w, seg) / w.sum())
        else:
            rates[j] = float(seg.mean())
    interest = interest_per_day * interval_hours / 24.0
    out = clamp_formula(rates, interest, clamp)
    out = np.atleast_1d(out)
    if cap is not None:
        out = np.clip(out, -cap, cap)
    return keys.astype(np.int64), out
