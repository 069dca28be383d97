"""Min/max-preserving decimation of long series for plotting.

A year of minute bars is 525,600 points per series; a browser draws that slowly and the HTML
would be tens of megabytes. :func:`minmax_indices` splits a series into equal buckets and keeps,
per bucket, the positions of its minimum and its maximum (in time order), plus the first and
last points. Every extreme of the original series therefore survives (the drawdown's trough,
the equity's peak, a funding spike), and the line drawn through the kept points covers the
same vertical range in every bucket as the full series would at screen resolution. A bucket
holding a NaN keeps one NaN, so gaps stay gaps.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 5_000  # per trace
MAX_MARKERS = 5_000  # per marker trace (trades), evenly sub-sampled beyond this


def minmax_indices(y: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Sorted positions to keep so that at most ``max_points`` remain, extremes preserved."""
    y = np.asarray(y, dtype=float)
    n = y.shape[0]
    if n <= max_points:
        return np.arange(n)
    if max_points < 5:
        raise ValueError(f"max_points must be >= 5, got {max_points}")
    nan = np.isnan(y)
    has_nan = bool(nan.any())
    n_buckets = (max_points - 2) // (3 if has_nan else 2)  # a NaN bucket keeps 3 points
    k = -(-n // n_buckets)  # bucket length (ceil)
    pad = n_buckets * k - n
    lo = np.concatenate([np.where(nan, np.inf, y), np.full(pad, np.inf)]).reshape(n_buckets, k)
    hi = np.concatenate([np.where(nan, -np.inf, y), np.full(pad, -np.inf)]).reshape(n_buckets, k)
    base = np.arange(n_buckets) * k
    keep = [base + lo.argmin(axis=1), base + hi.argmax(axis=1), np.array([0, n - 1])]
    if has_nan:  # one NaN per bucket that has any, so gaps are drawn as gaps
        nb = np.concatenate([nan, np.zeros(pad, dtype=bool)]).reshape(n_buckets, k)
        rows = np.flatnonzero(nb.any(axis=1))
        keep.append(base[rows] + nb[rows].argmax(axis=1))
    idx = np.unique(np.concatenate(keep))
    return idx[idx < n]


def minmax_decimate(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` with at most ``max_points`` points, min/max per bucket kept."""
    idx = minmax_indices(y, max_points)
    return np.asarray(x)[idx], np.asarray(y)[idx]


def even_indices(n: int, max_points: int = MAX_MARKERS) -> np.ndarray:
    """At most ``max_points`` evenly spaced positions of ``n`` (for marker traces)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
