"""Numba kernels of the synthetic generators (names end in ``_nb``).

Kernels take preallocated output arrays and pre-drawn random numbers: all randomness comes
from ``numpy.random.Generator`` objects outside the kernels, so a seed fixes every output bit
for bit, and a kernel never allocates Python objects.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def heston_nb(
    mu: float,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    v0: float,
    dt: float,
    z1: np.ndarray,
    z2: np.ndarray,
    log_ret: np.ndarray,
    var: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Full-truncation Euler scheme for Heston in log price.

    Step ``k`` (``1 <= k < n``) uses ``v+ = max(v, 0)`` of the previous step::

        log_ret[k] = log_ret[k-1] + (mu - v+/2) dt + sqrt(v+ dt) z1
        v          = v + kappa (theta - v+) dt + xi sqrt(v+ dt) (rho z1 + sqrt(1-rho^2) z2)

    ``log_ret`` is the cumulative log return (``log_ret[0] = 0``); ``var[k]`` is ``max(v, 0)``
    after step ``k``, i.e. the variance that drives bar ``k + 1``.
    """
    n = log_ret.shape[0]
    sq = math.sqrt(max(1.0 - rho * rho, 0.0))
    sdt = math.sqrt(dt)
    v = v0
    x = 0.0
    log_ret[0] = 0.0
    var[0] = v0 if v0 > 0.0 else 0.0
    for k in range(1, n):
        vp = v if v > 0.0 else 0.0
        sv = math.sqrt(vp) * sdt
        a = z1[k - 1]
        x += (mu - 0.5 * vp) * dt + sv * a
        v = v + kappa * (theta - vp) * dt + xi * sv * (rho * a + sq * z2[k - 1])
        log_ret[k] = x
        var[k] = v if v > 0.0 else 0.0


@njit(cache=True)
def ar1_nb(a: float, x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[0] = x[0]``; ``out[k] = a * out[k-1] + x[k]`` (an AR(1) / exact OU recursion)."""
    if x.shape[0] == 0:
        return
    y = x[0]
    out[0] = y
    for k in range(1, x.shape[0]):
        y = a * y + x[k]
        out[k] = y


@njit(cache=True)
def regime_increments_nb(
    cum_trans: np.ndarray,
    initial: int,
    drift: np.ndarray,
    sigma: np.ndarray,
    lam_dt: np.ndarray,
    jump_mean: np.ndarray,
    jump_std: np.ndarray,
    dt: float,
    z: np.ndarray,
    u: np.ndarray,
    uj: np.ndarray,
    jz: np.ndarray,
    reg: np.ndarray,
    counts: np.ndarray,
    inc: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Regime chain plus regime-dependent Merton log-increments, one pass.

    ``cum_trans[i, j]`` is the cumulative per-bar transition probability from regime ``i`` to
    regimes ``0..j`` (last column 1.0). ``reg[0] = initial``; for bar ``k >= 1`` the chain
    moves to the first ``j`` with ``u[k-1] < cum_trans[reg[k-1], j]``, then with ``r = reg[k]``::

        N          = Poisson(lam_dt[r]) by inversion of uj[k-1]
        inc[k-1]   = sigma[r] sqrt(dt) z[k-1] - sigma[r]^2 dt / 2 + drift[r] dt
                     + N jump_mean[r] + sqrt(N) jump_std[r] jz[k-1]

    ``drift`` is already compensated (``mu - lam * k``).
    """
    n_reg = cum_trans.shape[0]
    sdt = math.sqrt(dt)
    emlam = np.exp(-lam_dt)
    s = initial
    reg[0] = s
    for k in range(1, reg.shape[0]):
        x = u[k - 1]
        j = 0
        while j < n_reg - 1 and x >= cum_trans[s, j]:
            j += 1
        s = j
        reg[k] = s
        # Poisson(lam_dt[s]) by sequential inversion
        c = 0
        p = emlam[s]
        cdf = p
        w = uj[k - 1]
        while w > cdf and c < 1000:
            c += 1
            p *= lam_dt[s] / c
            cdf += p
        counts[k - 1] = c
        sg = sigma[s]
        v = sg * sdt * z[k - 1] - 0.5 * sg * sg * dt + drift[s] * dt
        if c > 0:
            v += c * jump_mean[s] + math.sqrt(c) * jump_std[s] * jz[k - 1]
        inc[k - 1] = v


@njit(cache=True)
def bridge_nb(
    open_: np.ndarray,
    close: np.ndarray,
    var: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Brownian-bridge high/low of each bar (see ``models.bridge_ohlc``), clamped so that
    ``low <= min(open, close)`` and ``max(open, close) <= high``."""
    for k in range(open_.shape[0]):
        o = open_[k]
        c = close[k]
        a = math.log(o)
        b = math.log(c)
        d2 = (b - a) * (b - a)
        h = math.exp(0.5 * (a + b + math.sqrt(d2 - 2.0 * var[k] * math.log(u[k]))))
        lo = math.exp(0.5 * (a + b - math.sqrt(d2 - 2.0 * var[k] * math.log(v[k]))))
        mx = o if o > c else c
        mn = o if o < c else c
        high[k] = h if h > mx else mx
        low[k] = lo if lo < mn else mn
