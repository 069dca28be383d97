"""``generate()``: a complete, seeded synthetic perp market as canonical :class:`Series`.

Random streams (all derived from the one integer ``seed``):

* price path: ``numpy.random.default_rng(seed)`` itself, whose first draw is always
  ``standard_normal(bars - 1)`` (so ``model="gbm"`` reproduces :func:`gbm_path` and the
  benchmark reference path bit for bit);
* every other component has its own child stream
  ``default_rng(SeedSequence(seed, spawn_key=(k,)))``, ``k`` = 0 OHLC bridge, 1 volume,
  2 basis, 3 funding, 4 IV. Changing, say, the funding parameters never moves the price path.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.data.synthetic.models import (
    _regime_sim,
    ar1,
    bridge_ohlc,
    funding_process,
    gbm_path,
    heston_path,
    iv_process,
    merton_path,
    regime_forward_variance,
    year_fraction,
)
from gammaperp.data.synthetic.models import stationary_distribution as _stationary
from gammaperp.data.synthetic.presets import (
    DEFAULT_PRESET,
    REGIME_NAMES,
    Preset,
    SyntheticParams,
    get_preset,
    params_to_dict,
    resolve_params,
)
from gammaperp.errors import ConfigError

__all__ = [
    "GENERATOR_VERSION",
    "SyntheticMarket",
    "beta_path",
    "generate",
    "stationary_distribution",
]

#: Bumped whenever the same (params, seed) would produce different numbers.
GENERATOR_VERSION = 1

VENUE = "synthetic"
_STREAMS = ("ohlc", "volume", "basis", "funding", "iv")
_QUOTES = ("USDT", "USDC", "BUSD", "USD")
_Z_CLIP = 8.0


@dataclass(frozen=True, eq=False)
class SyntheticMarket:
    """One generated market.

    ``ohlcv``: kind ``ohlcv``, market ``perp``, columns ``open, high, low, close, volume, mark,
    index``. ``funding``: kind ``funding`` (``rate``, ``mark``), ``meta["interval_hours"]``.
    ``iv``: kind ``iv`` (``iv``), symbol = base asset (``"BTC"``), market ``index`` (like
    Deribit's DVOL). ``regime``: regime label per bar (``None`` unless ``model="regime"``).
    ``inst_vol``: the model's instantaneous total annualised vol per bar (diffusion plus jump
    variance), the "true" vol a research notebook can compare IV and realised vol with.
    ``params``: every resolved parameter, JSON-able, for the run's config record.
    """

    ohlcv: Series
    funding: Series
    iv: Series
    regime: pd.Series | None
    inst_vol: pd.Series
    params: dict[str, Any]
    _fingerprint: str = field(repr=False, default="")

    def fingerprint(self) -> str:
        """Stable sha256 hex digest of the resolved parameters, seed and generator version."""
        return self._fingerprint

    @property
    def series(self) -> tuple[Series, Series, Series]:
        return (self.ohlcv, self.funding, self.iv)


def fingerprint_params(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- helpers


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _parse_start(start: Any) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(start)
    except (TypeError, ValueError):
        raise ConfigError(
            f"start must be a date/time such as '2024-01-01', got {start!r}"
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise ConfigError(f"start must be a date/time such as '2024-01-01', got {start!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("ns")


def _base_asset(symbol: str) -> str:
    for q in _QUOTES:
        if symbol.endswith(q) and len(symbol) > len(q):
            return symbol[: -len(q)]
    return symbol


def _ts_index(ns: np.ndarray) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(ns.astype(np.int64), unit="ns", utc=True), name="ts")
    return idx.as_unit("ns")


def _resolve_preset(preset: str | Preset | SyntheticParams) -> tuple[str, SyntheticParams]:
    if isinstance(preset, SyntheticParams):
        return "custom", preset
    if isinstance(preset, Preset):
        return preset.name, preset.params
    p = get_preset(preset)
    return p.name, p.params


class _Price:
    """Price path plus the per-bar quantities the other components need."""

    def __init__(
        self,
        close: np.ndarray,
        sig_diff: np.ndarray,
        var_total: np.ndarray,
        fwd_vol: np.ndarray,
        regime: np.ndarray | None,
    ) -> None:
        self.close = close  # close[k]: price at the end of bar k (close[0] = s0)
        self.sig_diff = sig_diff  # diffusive vol driving bar k
        self.var_total = var_total  # total instantaneous variance (diffusion + jumps) of bar k
        self.fwd_vol = fwd_vol  # expected vol over the IV tenor, seen at the start of bar k
        self.regime = regime


def _simulate_price(p: SyntheticParams, n: int, dt: float, seed: int) -> _Price:
    rng = np.random.default_rng(seed)
    tenor = p.iv_tenor_days / 365.0
    if p.model == "gbm":
        close = gbm_path(p.s0, p.sigma, n, dt, rng, mu=p.mu)
        sig = np.full(n, p.sigma)
        return _Price(close, sig, sig**2, sig.copy(), None)
    if p.model == "merton":
        close = merton_path(
            p.s0,
            p.sigma,
            n,
            dt,
            rng,
            mu=p.mu,
            jump_intensity=p.jump_intensity,
            jump_mean=p.jump_mean,
            jump_std=p.jump_std,
        )
        var = p.sigma**2 + p.jump_intensity * (p.jump_mean**2 + p.jump_std**2)
        return _Price(close, np.full(n, p.sigma), np.full(n, var), np.full(n, math.sqrt(var)), None)
    if p.model == "heston":
        v0 = p.heston_theta if p.heston_v0 is None else p.heston_v0
        close, var = heston_path(
            p.s0,
            n,
            dt,
            rng,
            mu=p.mu,
            kappa=p.heston_kappa,
            theta=p.heston_theta,
            xi=p.heston_xi,
            rho=p.heston_rho,
            v0=v0,
        )
        v_bar = np.empty(n)
        v_bar[0] = v0
        v_bar[1:] = var[:-1]
        kt = p.heston_kappa * tenor
        w = -math.expm1(-kt) / kt
        fwd = np.sqrt(p.heston_theta + (v_bar - p.heston_theta) * w)
        return _Price(close, np.sqrt(v_bar), v_bar, fwd, None)
    # regime switching
    regs = p.regimes
    mu = np.array([r.mu for r in regs])
    sig = np.array([r.sigma for r in regs])
    lam = np.array([r.jump_intensity for r in regs])
    jm = np.array([r.jump_mean for r in regs])
    js = np.array([r.jump_std for r in regs])
    sw = np.array(p.switch_per_day, dtype=float)
    sim = _regime_sim(
        p.s0, n, dt, rng, mu, sig, lam, jm, js, sw, REGIME_NAMES.index(p.initial_regime)
    )
    var_reg = sig**2 + lam * (jm**2 + js**2)
    fwd_reg = np.sqrt(regime_forward_variance(sw, var_reg, p.iv_tenor_days))
    r = sim.regime
    return _Price(sim.price, sig[r], var_reg[r], fwd_reg[r], r)


# --------------------------------------------------------------------------- generate


def generate(
    preset: str | Preset | SyntheticParams = DEFAULT_PRESET,
    *,
    seed: int = 7,
    start: Any = "2024-01-01",
    bars: int = 525_600,
    bar_seconds: int = 60,
    s0: float | None = None,
    symbol: str = "BTCUSDT",
    **overrides: Any,
) -> SyntheticMarket:
    """Generate a synthetic perp market: OHLCV (+ mark, index), funding and implied vol.

    ``preset`` is a preset name (see :func:`list_presets`), a :class:`Preset` or a
    :class:`SyntheticParams`; ``overrides`` replace any :class:`SyntheticParams` field by name
    (``regimes`` and ``switch_per_day`` also accept partial mappings keyed by regime name).
    ``s0`` overrides the preset's initial price. Timestamps are bar **open** times starting at
    ``start`` (UTC; naive times are taken as UTC). Same arguments -> bit-identical output.
    Unknown names or non-physical values raise :class:`~gammaperp.errors.ConfigError` (a
    ``ValueError``) naming the key.
    """
    name, base = _resolve_preset(preset)
    seed = _check_int("seed", seed, 0)
    n = _check_int("bars", bars, 2)
    bar_seconds = _check_int("bar_seconds", bar_seconds, 1)
    if not isinstance(symbol, str) or not symbol.strip():
        raise ConfigError(f"symbol must be a non-empty string, got {symbol!r}")
    symbol = symbol.strip().upper()
    t0 = _parse_start(start)
    if s0 is not None:
        overrides = {**overrides, "s0": s0}
    p = resolve_params(base, **overrides)
    iv_step = max(p.iv_bar_seconds, bar_seconds)
    if iv_step % bar_seconds:
        raise ConfigError(
            f"synthetic parameter 'iv_bar_seconds' ({p.iv_bar_seconds}) must be a multiple of "
            f"bar_seconds ({bar_seconds})"
        )

    params: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "preset": name,
        "seed": seed,
        "start": t0.isoformat(),
        "bars": n,
        "bar_seconds": bar_seconds,
        "symbol": symbol,
        "venue": VENUE,
        "market": "perp",
        **params_to_dict(p),
    }
    fp = fingerprint_params(params)

    dt = year_fraction(bar_seconds)
    streams = {
        k: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,)))
        for i, k in enumerate(_STREAMS)
    }
    px = _simulate_price(p, n, dt, seed)

    # ---- bars
    open_, high, low, close = bridge_ohlc(px.close, px.sig_diff, dt, streams["ohlc"])
    log_ret = np.log(close / open_)
    zv = streams["volume"].standard_normal(n)
    vs = p.volume_sigma
    volume = (
        p.volume_per_minute
        * (bar_seconds / 60.0)
        * np.exp(vs * zv - 0.5 * vs * vs)
        * (1.0 + p.volume_return_beta * np.abs(log_ret) / (p.volume_ref_vol * math.sqrt(dt)))
    )
    a_b = 2.0 ** (-(bar_seconds / 60.0) / p.basis_halflife_minutes)
    eb = streams["basis"].standard_normal(n)
    shocks = p.basis_std * math.sqrt(1.0 - a_b * a_b) * eb
    shocks[0] = p.basis_std * eb[0]
    basis = p.basis_mean + ar1(a_b, shocks)
    index_px = close * (1.0 - basis)

    bar_ns = bar_seconds * 1_000_000_000
    start_ns = int(t0.value)
    ts = _ts_index(start_ns + np.arange(n, dtype=np.int64) * bar_ns)
    meta_common = {"preset": name, "seed": seed, "fingerprint": fp, "generator": "gammaperp"}
    ohlcv = Series(
        kind="ohlcv",
        venue=VENUE,
        symbol=symbol,
        market="perp",
        frame=pd.DataFrame(
            {
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": volume,
                "mark": close.copy(),
                "index": index_px,
            },
            index=ts,
        ),
        meta={"bar_seconds": bar_seconds, "volume_unit": "base", **meta_common},
    )

    # ---- funding: settlements strictly after start, on the UTC schedule, before the end
    interval_ns = round(p.funding_interval_hours * 3600) * 1_000_000_000
    first = (start_ns // interval_ns + 1) * interval_ns
    settle_ns = np.arange(first, start_ns + n * bar_ns, interval_ns, dtype=np.int64)
    j = (settle_ns - start_ns) // bar_ns
    settle_px = open_[j]
    prev_px = np.concatenate([[open_[0]], settle_px[:-1]])
    trailing = np.log(settle_px / prev_px)
    rate = funding_process(
        trailing,
        streams["funding"],
        interval_hours=p.funding_interval_hours,
        base_rate=p.funding_base,
        vol=p.funding_vol,
        halflife_hours=p.funding_halflife_hours,
        rally_beta=p.funding_rally_beta,
        selloff_beta=p.funding_selloff_beta,
        cap=p.funding_cap,
    )
    funding = Series(
        kind="funding",
        venue=VENUE,
        symbol=symbol,
        market="perp",
        frame=pd.DataFrame({"rate": rate, "mark": settle_px}, index=_ts_index(settle_ns)),
        meta={"interval_hours": p.funding_interval_hours, **meta_common},
    )

    # ---- implied vol on the iv_step grid
    m = iv_step // bar_seconds
    gi = np.arange(0, n, m)
    if p.iv_fixed is not None:
        iv = np.full(gi.size, float(p.iv_fixed))
    else:
        # a zero-vol model (e.g. gbm with sigma=0) still gets a positive IV target
        fwd = np.maximum(px.fwd_vol[gi], p.iv_floor)
        target = fwd.copy()
        if px.regime is not None and p.iv_crash_spike:
            target[px.regime[gi] == REGIME_NAMES.index("crash")] *= 1.0 + p.iv_crash_spike
        lp = np.log(open_[gi])
        z = np.zeros(gi.size)
        z[1:] = np.diff(lp) / (fwd[:-1] * math.sqrt(m * dt))
        z = np.clip(z, -_Z_CLIP, _Z_CLIP)
        iv = iv_process(
            target,
            z,
            m * dt,
            streams["iv"],
            vrp=p.iv_vrp,
            halflife_hours=p.iv_halflife_hours,
            vol_of_vol=p.iv_vol_of_vol,
            corr=p.iv_return_corr,
            floor=p.iv_floor,
            cap=p.iv_cap,
        )
    iv_series = Series(
        kind="iv",
        venue=VENUE,
        symbol=_base_asset(symbol),
        market="index",
        frame=pd.DataFrame({"iv": iv}, index=ts[gi]),
        meta={
            "bar_seconds": iv_step,
            "tenor_days": p.iv_tenor_days,
            "underlying": symbol,
            **meta_common,
        },
    )

    regime = None
    if px.regime is not None:
        cats = pd.Categorical.from_codes(px.regime.astype(np.int64), categories=list(REGIME_NAMES))
        regime = pd.Series(cats, index=ts, name="regime")
    inst_vol = pd.Series(np.sqrt(px.var_total), index=ts, name="inst_vol")
    return SyntheticMarket(
        ohlcv=ohlcv,
        funding=funding,
        iv=iv_series,
        regime=regime,
        inst_vol=inst_vol,
        params=params,
        _fingerprint=fp,
    )


def stationary_distribution(
    preset: str | Preset | SyntheticParams = DEFAULT_PRESET, **overrides: Any
) -> dict[str, float]:
    """Long-run share of time in each regime of a preset's regime chain."""
    _, base = _resolve_preset(preset)
    p = resolve_params(base, **overrides)
    pi = _stationary(np.array(p.switch_per_day, dtype=float))
    return dict(zip(REGIME_NAMES, (float(x) for x in pi), strict=True))


def beta_path(
    close: np.ndarray,
    *,
    beta: float,
    idio_vol: float = 0.0,
    bar_seconds: float = 60,
    seed: int = 7,
    name: str = "",
    s0: float | None = None,
) -> np.ndarray:
    """A second asset's close path driven by ``close`` (the main symbol's closes).

    Log returns = ``beta`` x the main path's log returns + independent normal noise of annual
    vol ``idio_vol`` (per bar: ``idio_vol x sqrt(bar_seconds / year)``), starting at ``s0``
    (default: ``close[0]``). The noise stream is ``default_rng(SeedSequence((seed, h)))`` with
    ``h`` the first 8 bytes of sha256(``name``): the same run seed gives each instrument name
    its own, reproducible noise.
    """
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 1 or c.shape[0] < 2:
        raise ConfigError("beta_path: close must be a 1-d array of at least 2 prices")
    if not (np.isfinite(c).all() and (c > 0).all()):
        raise ConfigError("beta_path: close must be finite and positive")
    if not math.isfinite(beta) or not (math.isfinite(idio_vol) and idio_vol >= 0):
        raise ConfigError("beta_path: beta must be finite and idio_vol >= 0")
    start = float(c[0]) if s0 is None else float(s0)
    if not start > 0:
        raise ConfigError(f"beta_path: s0 must be > 0, got {s0!r}")
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    rng = np.random.default_rng(np.random.SeedSequence((_check_int("seed", seed, 0), h)))
    noise = rng.standard_normal(c.shape[0] - 1) * (idio_vol * math.sqrt(year_fraction(bar_seconds)))
    steps = beta * np.diff(np.log(c)) + noise
    return start * np.exp(np.concatenate(([0.0], np.cumsum(steps))))
