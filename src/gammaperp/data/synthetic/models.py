"""Low-level, array-in / array-out synthetic processes.

Conventions shared by every function here:

* Rates are annualised with a 365-day year; ``dt`` is the step in years
  (``bar_seconds / (365 * 86400)``; see :func:`year_fraction`).
* A price path has ``n`` points: ``path[0] == s0`` exactly and ``path[k] = s0 * exp(x_1 + ... +
  x_k)`` for log-increments ``x``. The ``n - 1`` increments are built from
  ``standard_normal(n - 1)``, the *first* draw of the generator, whichever model is used, so
  paths of different models share their diffusion shocks for the same seed.
* ``seed`` is an ``int`` (passed to ``numpy.random.default_rng``) or a ``numpy.random.Generator``
  (used as is, and advanced).
* ``mu`` is the expected growth rate: ``E[S_t] = s0 * exp(mu * t)`` for every model (jumps are
  compensated).

Invalid arguments raise :class:`gammaperp.errors.ConfigError` (a ``ValueError``) naming the
argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.linalg import expm

from gammaperp.data.synthetic._nb import (
    ar1_nb,
    bridge_nb,
    heston_nb,
    regime_increments_nb,
)
from gammaperp.errors import ConfigError

__all__ = [
    "SECONDS_PER_YEAR",
    "MertonPath",
    "bridge_ohlc",
    "funding_process",
    "gbm_path",
    "heston_path",
    "iv_process",
    "merton_path",
    "regime_forward_variance",
    "regime_generator",
    "regime_switching_path",
    "regime_transition_matrix",
    "stationary_distribution",
    "year_fraction",
]

SECONDS_PER_YEAR = 365 * 86400
HOURS_PER_YEAR = 365 * 24

Seed = int | np.random.Generator


def year_fraction(bar_seconds: float) -> float:
    """Length of a bar in years (365-day year): ``bar_seconds / (365 * 86400)``."""
    if not bar_seconds > 0:
        raise ConfigError(f"bar_seconds must be > 0, got {bar_seconds!r}")
    return float(bar_seconds) / SECONDS_PER_YEAR


# --------------------------------------------------------------------------- checks


def _rng(seed: Seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _finite(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return v


def _nonneg(name: str, value: float) -> float:
    v = _finite(name, value)
    if v < 0:
        raise ConfigError(f"{name} must be >= 0, got {value!r}")
    return v


def _positive(name: str, value: float) -> float:
    v = _finite(name, value)
    if v <= 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return v


def _check_path_args(s0: float, n: int, dt: float) -> tuple[float, int, float]:
    s0 = _positive("s0", s0)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise ConfigError(f"n (number of bars) must be an int >= 2, got {n!r}")
    dt = _positive("dt", dt)
    return s0, int(n), dt


def _to_path(s0: float, inc: np.ndarray) -> np.ndarray:
    out = np.empty(inc.size + 1)
    out[0] = s0
    out[1:] = s0 * np.exp(np.cumsum(inc))
    return out


# --------------------------------------------------------------------------- price models


def gbm_path(s0: float, sigma: float, n: int, dt: float, seed: Seed, mu: float = 0.0) -> np.ndarray:
    """Geometric Brownian motion, ``n`` points, ``path[0] == s0``.

    Log-increments ``sigma*sqrt(dt)*z - 0.5*sigma**2*dt + mu*dt`` with
    ``z = default_rng(seed).standard_normal(n - 1)``. With ``mu == 0`` this is bit for bit the
    benchmark reference path ``s0 * exp(cumsum(sigma*sqrt(dt)*z - 0.5*sigma**2*dt))``.
    """
    s0, n, dt = _check_path_args(s0, n, dt)
    sigma = _nonneg("sigma", sigma)
    mu = _finite("mu", mu)
    z = _rng(seed).standard_normal(n - 1)
    inc = sigma * np.sqrt(dt) * z - 0.5 * sigma**2 * dt
    if mu != 0.0:
        inc = inc + mu * dt
    return _to_path(s0, inc)


class MertonPath(NamedTuple):
    """Merton path with its jumps: ``jump_counts[k]`` and ``jump_log_sizes[k]`` (sum of the
    log jump sizes) belong to the increment from ``price[k]`` to ``price[k + 1]``."""

    price: np.ndarray
    jump_counts: np.ndarray
    jump_log_sizes: np.ndarray


def _jump_comp(jump_mean: float | np.ndarray, jump_std: float | np.ndarray):
    """``k = E[e^J] - 1`` for a lognormal jump ``J ~ N(jump_mean, jump_std^2)``."""
    return np.expm1(jump_mean + 0.5 * np.square(jump_std))


def merton_path(
    s0: float,
    sigma: float,
    n: int,
    dt: float,
    seed: Seed,
    mu: float = 0.0,
    *,
    jump_intensity: float,
    jump_mean: float,
    jump_std: float,
    return_jumps: bool = False,
) -> np.ndarray | MertonPath:
    """Merton jump-diffusion: GBM plus compound-Poisson lognormal jumps.

    Per step: ``sigma*sqrt(dt)*z - 0.5*sigma**2*dt + (mu - lam*k)*dt + J`` where ``N ~
    Poisson(lam*dt)`` jumps, each with log size ``N(jump_mean, jump_std**2)`` (so ``J ~
    N(N*jump_mean, N*jump_std**2)``) and ``k = exp(jump_mean + jump_std**2/2) - 1``: the
    compensator makes ``E[S_t] = s0 * exp(mu*t)``. ``jump_intensity`` (``lam``) is in jumps per
    year. Draw order: ``z`` (n-1 normals), jump counts, jump normals. With ``jump_intensity=0``
    the path equals :func:`gbm_path` for the same seed.
    """
    s0, n, dt = _check_path_args(s0, n, dt)
    sigma = _nonneg("sigma", sigma)
    mu = _finite("mu", mu)
    lam = _nonneg("jump_intensity", jump_intensity)
    m = _finite("jump_mean", jump_mean)
    s = _nonneg("jump_std", jump_std)
    rng = _rng(seed)
    z = rng.standard_normal(n - 1)
    counts = rng.poisson(lam * dt, n - 1)
    jz = rng.standard_normal(n - 1)
    jumps = counts * m + np.sqrt(counts) * s * jz
    inc = sigma * np.sqrt(dt) * z - 0.5 * sigma**2 * dt + (mu - lam * _jump_comp(m, s)) * dt
    inc = inc + jumps
    price = _to_path(s0, inc)
    if return_jumps:
        return MertonPath(price, counts, jumps)
    return price


def heston_path(
    s0: float,
    n: int,
    dt: float,
    seed: Seed,
    *,
    mu: float = 0.0,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    v0: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Heston stochastic volatility by full-truncation Euler; returns ``(price, variance)``.

    ``dS/S = mu dt + sqrt(v) dW1``, ``dv = kappa (theta - v) dt + xi sqrt(v) dW2``,
    ``corr(dW1, dW2) = rho``. Each step uses ``v+ = max(v, 0)`` in drift and diffusion (Lord et
    al.'s full truncation) and the exact log-price form ``(mu - v+/2) dt + sqrt(v+ dt) z1``.
    ``variance[k]`` (annualised, >= 0) is the instantaneous variance after step ``k``, i.e. the
    one that drives the move from ``price[k]`` to ``price[k+1]``; ``variance[0] = v0`` (default
    ``theta``). The Feller condition ``2 kappa theta >= xi**2`` is *not* required: when it fails
    the variance touches 0 more often, which full truncation handles. Draw order: ``z1``, ``z2``
    (n-1 normals each).
    """
    s0, n, dt = _check_path_args(s0, n, dt)
    mu = _finite("mu", mu)
    kappa = _positive("heston_kappa", kappa)
    theta = _positive("heston_theta", theta)
    xi = _nonneg("heston_xi", xi)
    rho = _finite("heston_rho", rho)
    if not -1.0 <= rho <= 1.0:
        raise ConfigError(f"heston_rho must be in [-1, 1], got {rho!r}")
    v0 = theta if v0 is None else _nonneg("heston_v0", v0)
    rng = _rng(seed)
    z1 = rng.standard_normal(n - 1)
    z2 = rng.standard_normal(n - 1)
    log_ret = np.empty(n)
    var = np.empty(n)
    heston_nb(mu, kappa, theta, xi, rho, v0, dt, z1, z2, log_ret, var)
    price = s0 * np.exp(log_ret)
    price[0] = s0
    return price, var


# --------------------------------------------------------------------------- regimes


def _switch_matrix(switch_per_day: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    p = np.array(switch_per_day, dtype=float)
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] < 1:
        raise ConfigError(f"switch_per_day must be a square matrix, got shape {p.shape}")
    np.fill_diagonal(p, 0.0)
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ConfigError("switch_per_day probabilities must be finite and in [0, 1]")
    exit_p = p.sum(axis=1)
    if (exit_p >= 1.0).any():
        i = int(np.argmax(exit_p))
        raise ConfigError(
            f"switch_per_day: switch probabilities out of regime {i} sum to {exit_p[i]:.6g}; "
            "they must sum to < 1 (the rest is the probability of staying a whole day)"
        )
    return p


def regime_generator(switch_per_day: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Continuous-time generator ``Q`` (per day) of the regime chain.

    ``switch_per_day[i][j]`` (``i != j``; the diagonal is ignored) is the probability that,
    starting in regime ``i``, the first switch within one day goes to ``j``. So regime ``i`` is
    left at rate ``q_i = -ln(1 - sum_j p_ij)`` per day (it survives a whole day with probability
    exactly ``1 - sum_j p_ij``) and the destination is ``j`` with probability
    ``p_ij / sum_j p_ij``.
    """
    p = _switch_matrix(switch_per_day)
    exit_p = p.sum(axis=1)
    rate = -np.log1p(-exit_p)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(exit_p[:, None] > 0, p * (rate / exit_p)[:, None], 0.0)
    np.fill_diagonal(q, -q.sum(axis=1))
    return q


def regime_transition_matrix(
    switch_per_day: Sequence[Sequence[float]] | np.ndarray, days: float
) -> np.ndarray:
    """Transition matrix of the regime chain over ``days`` days: ``expm(Q * days)``."""
    q = regime_generator(switch_per_day)
    t = expm(q * float(days))
    t = np.clip(t, 0.0, None)
    return t / t.sum(axis=1, keepdims=True)


def stationary_distribution(switch_per_day: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Long-run share of time in each regime: ``pi`` with ``pi Q = 0``, ``sum(pi) = 1``."""
    q = regime_generator(switch_per_day)
    r = q.shape[0]
    a = np.vstack([q.T, np.ones((1, r))])
    b = np.zeros(r + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def regime_forward_variance(
    switch_per_day: Sequence[Sequence[float]] | np.ndarray, var: np.ndarray, tenor_days: float
) -> np.ndarray:
    """Expected average variance over the next ``tenor_days`` days, per starting regime.

    ``(1/T) * integral_0^T (expm(Q s) @ var) ds`` (the integral is the upper-right block of
    ``expm([[Q T, I T], [0, 0]])``), where ``var[j]`` is regime ``j``'s total instantaneous
    variance.
    """
    q = regime_generator(switch_per_day)
    var = np.asarray(var, dtype=float)
    t = float(tenor_days)
    if t <= 0:
        raise ConfigError(f"tenor_days must be > 0, got {tenor_days!r}")
    r = q.shape[0]
    aug = np.zeros((2 * r, 2 * r))
    aug[:r, :r] = q * t
    aug[:r, r:] = np.eye(r) * t
    integral = expm(aug)[:r, r:]  # = integral_0^T expm(Q s) ds
    return (integral @ var) / t


def _regime_arrays(mu, sigma, jump_intensity, jump_mean, jump_std, r: int):
    out = []
    for name, arr in (
        ("mu", mu),
        ("sigma", sigma),
        ("jump_intensity", jump_intensity),
        ("jump_mean", jump_mean),
        ("jump_std", jump_std),
    ):
        a = np.asarray(arr, dtype=float).reshape(-1)
        if a.shape != (r,):
            raise ConfigError(f"regime {name} must have one value per regime ({r}), got {a.size}")
        if not np.isfinite(a).all():
            raise ConfigError(f"regime {name} must be finite")
        if name in ("sigma", "jump_intensity", "jump_std") and (a < 0).any():
            raise ConfigError(f"regime {name} must be >= 0, got {a.tolist()}")
        out.append(a)
    return out


class _RegimeSim(NamedTuple):
    price: np.ndarray
    regime: np.ndarray  # int8, regime of bar k (drives the move into price[k])
    jump_counts: np.ndarray


def _regime_sim(
    s0: float,
    n: int,
    dt: float,
    rng: np.random.Generator,
    mu: np.ndarray,
    sigma: np.ndarray,
    lam: np.ndarray,
    jm: np.ndarray,
    js: np.ndarray,
    switch_per_day,
    initial: int,
) -> _RegimeSim:
    trans = regime_transition_matrix(switch_per_day, dt * 365.0)
    cum = np.cumsum(trans, axis=1)
    cum[:, -1] = 1.0
    z = rng.standard_normal(n - 1)
    u = rng.random(n - 1)
    uj = rng.random(n - 1)
    jz = rng.standard_normal(n - 1)
    drift = mu - lam * _jump_comp(jm, js)
    reg = np.empty(n, dtype=np.int8)
    counts = np.empty(n - 1, dtype=np.int64)
    inc = np.empty(n - 1)
    regime_increments_nb(
        cum, int(initial), drift, sigma, lam * dt, jm, js, dt, z, u, uj, jz, reg, counts, inc
    )
    return _RegimeSim(_to_path(s0, inc), reg, counts)


def regime_switching_path(
    s0: float,
    n: int,
    dt: float,
    seed: Seed,
    *,
    mu: Sequence[float],
    sigma: Sequence[float],
    jump_intensity: Sequence[float],
    jump_mean: Sequence[float],
    jump_std: Sequence[float],
    switch_per_day: Sequence[Sequence[float]],
    initial: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Markov regime-switching jump-diffusion; returns ``(price, regime)``.

    ``mu, sigma, jump_intensity, jump_mean, jump_std`` hold one value per regime (annualised;
    see :func:`merton_path`); the regime chain is defined by ``switch_per_day`` (see
    :func:`regime_generator`) and stepped once per bar with the exact per-bar matrix
    ``expm(Q * dt_days)``. ``regime[k]`` (int8 index) is the regime of bar ``k``: it drives the
    move from ``price[k-1]`` to ``price[k]``; ``regime[0] == initial``. Inside regime ``r`` a
    step is a Merton step with that regime's parameters (jump counts by Poisson inversion of a
    uniform). Draw order: ``z`` (n-1 normals), chain uniforms, jump uniforms, jump normals.
    """
    s0, n, dt = _check_path_args(s0, n, dt)
    p = _switch_matrix(switch_per_day)
    r = p.shape[0]
    mu_a, sig_a, lam_a, jm_a, js_a = _regime_arrays(
        mu, sigma, jump_intensity, jump_mean, jump_std, r
    )
    if isinstance(initial, bool) or not isinstance(initial, int | np.integer):
        raise ConfigError(f"initial regime must be an int index, got {initial!r}")
    if not 0 <= initial < r:
        raise ConfigError(f"initial regime index must be in [0, {r - 1}], got {initial}")
    sim = _regime_sim(s0, n, dt, _rng(seed), mu_a, sig_a, lam_a, jm_a, js_a, p, int(initial))
    return sim.price, sim.regime


# --------------------------------------------------------------------------- bars


def bridge_ohlc(
    close: np.ndarray, sigma: np.ndarray | float, dt: float, seed: Seed
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open/high/low/close bars around a close path; returns ``(open, high, low, close)``.

    ``open[0] = close[0]`` and ``open[k] = close[k-1]``. Inside a bar the log price is taken to
    be a Brownian bridge from ``a = log(open)`` to ``b = log(close)`` with variance
    ``sigma**2 * dt`` (``sigma`` = the bar's annualised diffusive vol). Its maximum has the exact
    law ``P(M > m) = exp(-2 (m - a)(m - b) / (sigma**2 dt))`` for ``m >= max(a, b)``, sampled by
    inversion: ``M = (a + b + sqrt((b - a)**2 - 2 sigma**2 dt ln U)) / 2``; the minimum likewise
    with an independent ``V``. (The joint law of max and min is not reproduced; each marginal
    is exact.) A final clamp guarantees ``low <= min(open, close)`` and
    ``max(open, close) <= high`` in floating point. Draw order: ``U`` then ``V`` (n each).
    """
    close = np.ascontiguousarray(close, dtype=float)
    n = close.size
    rng = _rng(seed)
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    open_ = np.empty(n)
    open_[0] = close[0]
    open_[1:] = close[:-1]
    var = np.ascontiguousarray(sig**2 * dt)
    u = 1.0 - rng.random(n)  # in (0, 1]
    v = 1.0 - rng.random(n)
    high = np.empty(n)
    low = np.empty(n)
    bridge_nb(open_, close, var, u, v, high, low)
    return open_, high, low, close.copy()


def ar1(a: float, shocks: np.ndarray) -> np.ndarray:
    """``y[0] = shocks[0]``, ``y[k] = a * y[k-1] + shocks[k]`` (numba kernel)."""
    x = np.ascontiguousarray(shocks, dtype=float)
    out = np.empty_like(x)
    ar1_nb(float(a), x, out)
    return out


# --------------------------------------------------------------------------- funding


def funding_process(
    trailing_returns: np.ndarray,
    seed: Seed,
    *,
    interval_hours: float = 8.0,
    base_rate: float = 1e-4,
    vol: float = 1e-4,
    halflife_hours: float = 72.0,
    rally_beta: float = 0.02,
    selloff_beta: float = 0.01,
    cap: float = 0.0075,
) -> np.ndarray:
    """Funding rate per settlement (decimal per interval).

    ``rate_k = clip(base_rate + x_k + rally_beta * max(r_k, 0) + selloff_beta * min(r_k, 0),
    -cap, cap)`` where ``r_k`` is the trailing log return of the price since the previous
    settlement and ``x`` is an exact discretisation of an OU process with stationary std
    ``vol`` and half-life ``halflife_hours``: ``x_0 = vol * e_0``,
    ``x_k = a x_{k-1} + vol * sqrt(1 - a**2) * e_k``, ``a = 2 ** (-interval_hours /
    halflife_hours)``. Positive betas make rates spike after rallies (longs crowd in) and dip
    after sell-offs.
    """
    r = np.asarray(trailing_returns, dtype=float)
    interval_hours = _positive("funding_interval_hours", interval_hours)
    base_rate = _finite("funding_base", base_rate)
    vol = _nonneg("funding_vol", vol)
    halflife_hours = _positive("funding_halflife_hours", halflife_hours)
    rally_beta = _finite("funding_rally_beta", rally_beta)
    selloff_beta = _finite("funding_selloff_beta", selloff_beta)
    cap = _positive("funding_cap", cap)
    e = _rng(seed).standard_normal(r.size)
    a = 2.0 ** (-interval_hours / halflife_hours)
    shocks = vol * math.sqrt(1.0 - a * a) * e
    if r.size:
        shocks[0] = vol * e[0]
    x = ar1(a, shocks)
    rate = base_rate + x + rally_beta * np.maximum(r, 0.0) + selloff_beta * np.minimum(r, 0.0)
    return np.clip(rate, -cap, cap)


# --------------------------------------------------------------------------- implied vol


def iv_process(
    expected_vol: np.ndarray,
    return_z: np.ndarray,
    dt: float,
    seed: Seed,
    *,
    vrp: float = 0.10,
    halflife_hours: float = 48.0,
    vol_of_vol: float = 1.0,
    corr: float = -0.5,
    floor: float = 0.05,
    cap: float = 5.0,
) -> np.ndarray:
    """Annualised implied vol (decimal) on a grid of step ``dt`` years.

    ``y = log(iv)`` mean-reverts (exact OU step, ``a = exp(-kappa dt)``, ``kappa = ln 2 /
    halflife``) towards ``c_k = log(expected_vol_k * (1 + vrp)) - s**2 / 2`` where ``s**2 =
    vol_of_vol**2 / (2 kappa)`` is the stationary variance of ``y`` (so ``E[iv] ~ target``)::

        y_0 = c_0 + s e_0
        y_k = a y_{k-1} + (1 - a) c_k + vol_of_vol sqrt((1 - a**2) / (2 kappa)) e_k
        e_k = corr * return_z[k] + sqrt(1 - corr**2) * w_k

    ``return_z[k]`` is the standardised price return over step ``k`` (leverage effect: with
    ``corr < 0`` IV rises when the price falls); ``w`` are the generator's normals. The result
    is clipped to ``[floor, cap]``. ``vrp`` is the volatility risk premium: implied vol is
    ``1 + vrp`` times the model's expected vol, so option buyers overpay on average.
    """
    ev = np.asarray(expected_vol, dtype=float)
    rz = np.asarray(return_z, dtype=float)
    if ev.shape != rz.shape or ev.ndim != 1:
        raise ConfigError("expected_vol and return_z must be 1-d arrays of the same length")
    if (ev <= 0).any() or not np.isfinite(ev).all():
        raise ConfigError("expected_vol must be finite and > 0")
    dt = _positive("dt", dt)
    vrp = _finite("iv_vrp", vrp)
    if vrp <= -1:
        raise ConfigError(f"iv_vrp must be > -1, got {vrp!r}")
    halflife_hours = _positive("iv_halflife_hours", halflife_hours)
    vov = _nonneg("iv_vol_of_vol", vol_of_vol)
    corr = _finite("iv_return_corr", corr)
    if not -1.0 <= corr <= 1.0:
        raise ConfigError(f"iv_return_corr must be in [-1, 1], got {corr!r}")
    floor = _positive("iv_floor", floor)
    cap = _positive("iv_cap", cap)
    if cap <= floor:
        raise ConfigError(f"iv_cap ({cap}) must be > iv_floor ({floor})")
    kappa = math.log(2.0) / (halflife_hours / HOURS_PER_YEAR)
    a = math.exp(-kappa * dt)
    s2 = vov**2 / (2.0 * kappa)
    c = np.log(ev * (1.0 + vrp)) - 0.5 * s2
    w = _rng(seed).standard_normal(ev.size)
    e = corr * np.nan_to_num(rz) + math.sqrt(1.0 - corr * corr) * w
    x = (1.0 - a) * c + vov * math.sqrt((1.0 - a * a) / (2.0 * kappa)) * e
    if ev.size:
        x[0] = c[0] + math.sqrt(s2) * e[0]
    y = ar1(a, x)
    return np.clip(np.exp(y), floor, cap)
