"""Synthetic-market parameters, named presets and override resolution.

A preset is a frozen :class:`SyntheticParams`; :func:`resolve_params` applies keyword overrides
(by field name) and validates the result, raising :class:`~gammaperp.errors.ConfigError`
(a ``ValueError``) that names the offending key and lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gammaperp.data.synthetic.models import regime_generator
from gammaperp.errors import ConfigError

__all__ = [
    "DEFAULT_PRESET",
    "MODELS",
    "PRESETS",
    "REGIME_NAMES",
    "Preset",
    "Regime",
    "SyntheticParams",
    "get_preset",
    "list_presets",
    "param_docs",
    "params_to_dict",
    "resolve_params",
    "switch_matrix",
]

REGIME_NAMES: tuple[str, ...] = ("calm", "choppy", "trending", "crash")
MODELS: tuple[str, ...] = ("gbm", "merton", "heston", "regime")
DEFAULT_PRESET = "sideways-volatile"


def _num(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"synthetic parameter {name!r} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"synthetic parameter {name!r} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"synthetic parameter {name!r} must be finite, got {value!r}")
    return v


@dataclass(frozen=True)
class Regime:
    """Price dynamics inside one regime (a Merton jump-diffusion; rates annualised)."""

    mu: float = 0.0  # expected growth rate, 1/yr: E[S_t] = S_0 e^{mu t} while in the regime
    sigma: float = 0.6  # diffusive volatility, 1/sqrt(yr)
    jump_intensity: float = 0.0  # jumps per year
    jump_mean: float = 0.0  # mean log jump size
    jump_std: float = 0.0  # std of the log jump size


SwitchMatrix = tuple[tuple[float, ...], ...]


def switch_matrix(spec: Mapping[str, Mapping[str, float]]) -> SwitchMatrix:
    """Build the 4x4 per-day switch matrix from ``{"calm": {"choppy": 0.1, ...}, ...}``.

    Only switches (off-diagonal entries) are given; the probability of staying is implied.
    """
    idx = {name: i for i, name in enumerate(REGIME_NAMES)}
    m = [[0.0] * len(REGIME_NAMES) for _ in REGIME_NAMES]
    for src, row in spec.items():
        if src not in idx:
            raise ConfigError(
                f"switch_per_day: unknown regime {src!r}; valid regimes: {', '.join(REGIME_NAMES)}"
            )
        for dst, p in row.items():
            if dst not in idx:
                raise ConfigError(
                    f"switch_per_day[{src!r}]: unknown regime {dst!r}; "
                    f"valid regimes: {', '.join(REGIME_NAMES)}"
                )
            if dst == src:
                raise ConfigError(
                    f"switch_per_day[{src!r}][{dst!r}]: give only switches; the probability of "
                    "staying is 1 - the sum of the switches"
                )
            m[idx[src]][idx[dst]] = _num(f"switch_per_day[{src!r}][{dst!r}]", p)
    return tuple(tuple(r) for r in m)


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


_DEFAULT_REGIMES: tuple[Regime, ...] = (
    Regime(mu=0.0, sigma=0.45),
    Regime(mu=0.0, sigma=0.85, jump_intensity=24.0, jump_mean=0.0, jump_std=0.02),
    Regime(mu=0.9, sigma=0.60),
    Regime(mu=-10.0, sigma=1.20, jump_intensity=365.0, jump_mean=-0.02, jump_std=0.03),
)
_DEFAULT_SWITCH = switch_matrix(
    {
        "calm": {"choppy": 0.08, "trending": 0.02, "crash": 0.004},
        "choppy": {"calm": 0.10, "trending": 0.03, "crash": 0.01},
        "trending": {"calm": 0.06, "choppy": 0.06, "crash": 0.008},
        "crash": {"calm": 0.05, "choppy": 0.35},
    }
)


@dataclass(frozen=True)
class SyntheticParams:
    """Every parameter of a synthetic market. Rates annualised (365-day year) unless stated.

    See ``docs/synthetic.md`` for the equations. ``model`` selects which price parameters are
    used: ``gbm`` (``mu, sigma``), ``merton`` (+ ``jump_*``), ``heston`` (``mu, heston_*``) or
    ``regime`` (``regimes, switch_per_day, initial_regime``).
    """

    # ---- price model
    model: str = field(default="regime", metadata=_doc("gbm | merton | heston | regime"))
    s0: float = field(default=30_000.0, metadata=_doc("initial price, quote currency (USDT)"))
    mu: float = field(default=0.0, metadata=_doc("expected growth rate, 1/yr (gbm/merton/heston)"))
    sigma: float = field(default=0.6, metadata=_doc("diffusive vol, 1/sqrt(yr) (gbm/merton)"))
    jump_intensity: float = field(default=0.0, metadata=_doc("merton jumps per year"))
    jump_mean: float = field(default=0.0, metadata=_doc("merton mean log jump size"))
    jump_std: float = field(default=0.0, metadata=_doc("merton std of log jump size"))
    heston_kappa: float = field(default=4.0, metadata=_doc("variance mean reversion, 1/yr"))
    heston_theta: float = field(default=0.36, metadata=_doc("long-run variance, 1/yr"))
    heston_xi: float = field(default=0.8, metadata=_doc("vol of variance, 1/sqrt(yr)"))
    heston_rho: float = field(default=-0.4, metadata=_doc("price/variance shock correlation"))
    heston_v0: float | None = field(
        default=None, metadata=_doc("initial variance, 1/yr (None: heston_theta)")
    )
    regimes: tuple[Regime, ...] = field(
        default=_DEFAULT_REGIMES, metadata=_doc("one Regime per name in REGIME_NAMES")
    )
    switch_per_day: SwitchMatrix = field(
        default=_DEFAULT_SWITCH,
        metadata=_doc("per-day probability of switching regime i -> j (diagonal ignored)"),
    )
    initial_regime: str = field(default="calm", metadata=_doc("regime of the first bar"))
    # ---- bars: volume, index basis
    volume_per_minute: float = field(
        default=120.0, metadata=_doc("mean base-asset volume per minute of a zero-return bar")
    )
    volume_sigma: float = field(default=0.6, metadata=_doc("lognormal dispersion of volume"))
    volume_return_beta: float = field(
        default=1.0, metadata=_doc("volume multiplier slope on |return| / (ref_vol sqrt(dt))")
    )
    volume_ref_vol: float = field(
        default=0.6, metadata=_doc("reference vol for volume, 1/sqrt(yr)")
    )
    basis_mean: float = field(
        default=1e-4, metadata=_doc("mean perp premium over index: index = close * (1 - basis)")
    )
    basis_std: float = field(default=3e-4, metadata=_doc("stationary std of the basis (AR(1))"))
    basis_halflife_minutes: float = field(default=60.0, metadata=_doc("basis half-life, minutes"))
    # ---- funding
    funding_interval_hours: float = field(
        default=8.0, metadata=_doc("hours between settlements; must divide 24")
    )
    funding_base: float = field(default=1e-4, metadata=_doc("base rate per interval (0.01 %)"))
    funding_vol: float = field(default=1e-4, metadata=_doc("stationary std of the OU part"))
    funding_halflife_hours: float = field(default=72.0, metadata=_doc("OU half-life, hours"))
    funding_rally_beta: float = field(
        default=0.02, metadata=_doc("rate per unit positive trailing log return")
    )
    funding_selloff_beta: float = field(
        default=0.01, metadata=_doc("rate per unit negative trailing log return")
    )
    funding_cap: float = field(default=0.0075, metadata=_doc("|rate| cap per interval"))
    # ---- implied vol
    iv_bar_seconds: int = field(
        default=3600, metadata=_doc("IV grid step, s (multiple of bar_seconds; >= bar_seconds)")
    )
    iv_tenor_days: float = field(default=30.0, metadata=_doc("tenor of the IV index, days"))
    iv_vrp: float = field(default=0.10, metadata=_doc("vol risk premium: IV = (1+vrp) x E[vol]"))
    iv_halflife_hours: float = field(default=48.0, metadata=_doc("log-IV half-life, hours"))
    iv_vol_of_vol: float = field(default=1.0, metadata=_doc("vol of log IV, 1/sqrt(yr)"))
    iv_return_corr: float = field(default=-0.5, metadata=_doc("corr of log-IV shocks with returns"))
    iv_crash_spike: float = field(
        default=0.25, metadata=_doc("extra IV target multiple in the crash regime")
    )
    iv_floor: float = field(default=0.05, metadata=_doc("IV lower clamp"))
    iv_cap: float = field(default=5.0, metadata=_doc("IV upper clamp"))
    iv_fixed: float | None = field(
        default=None, metadata=_doc("constant IV instead of the process (None: process)")
    )

    def regime_dict(self) -> dict[str, Regime]:
        return dict(zip(REGIME_NAMES, self.regimes, strict=True))


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    params: SyntheticParams


_P = SyntheticParams

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "sideways-volatile",
            "Range-bound, high-vol BTC: calm/choppy regimes, rare trends and crashes, "
            "~65 % realised vol, no net drift (the demo default).",
            _P(),
        ),
        Preset(
            "bull-trend",
            "Persistent uptrend (2020-21 style): ~60 % of the time trending, about 3.5x in a "
            "year (median), short sharp corrections.",
            _P(
                regimes=(
                    Regime(mu=0.5, sigma=0.40),
                    Regime(mu=0.2, sigma=0.75, jump_intensity=24.0, jump_std=0.02),
                    Regime(mu=2.0, sigma=0.60, jump_intensity=12.0, jump_mean=0.01, jump_std=0.02),
                    Regime(
                        mu=-15.0, sigma=1.10, jump_intensity=180.0, jump_mean=-0.02, jump_std=0.03
                    ),
                ),
                switch_per_day=switch_matrix(
                    {
                        "calm": {"choppy": 0.05, "trending": 0.10, "crash": 0.003},
                        "choppy": {"calm": 0.08, "trending": 0.10, "crash": 0.01},
                        "trending": {"calm": 0.03, "choppy": 0.04, "crash": 0.005},
                        "crash": {"choppy": 0.30, "trending": 0.10, "calm": 0.05},
                    }
                ),
                initial_regime="trending",
            ),
        ),
        Preset(
            "crash",
            "Calm market that breaks down: repeated multi-day crashes (2022 Luna/FTX style), "
            "high-vol aftermath, negative funding, IV spikes.",
            _P(
                regimes=(
                    Regime(mu=0.0, sigma=0.50),
                    Regime(
                        mu=-0.5, sigma=0.95, jump_intensity=36.0, jump_mean=-0.005, jump_std=0.025
                    ),
                    Regime(mu=1.5, sigma=0.80),
                    Regime(
                        mu=-25.0, sigma=1.40, jump_intensity=730.0, jump_mean=-0.02, jump_std=0.03
                    ),
                ),
                switch_per_day=switch_matrix(
                    {
                        "calm": {"choppy": 0.06, "trending": 0.01, "crash": 0.015},
                        "choppy": {"calm": 0.05, "trending": 0.04, "crash": 0.02},
                        "trending": {"calm": 0.05, "choppy": 0.15, "crash": 0.02},
                        "crash": {"choppy": 0.30, "trending": 0.05},
                    }
                ),
                initial_regime="calm",
                funding_selloff_beta=0.02,
                iv_crash_spike=0.40,
            ),
        ),
        Preset(
            "low-vol",
            "Quiet market (2023 summer style): Heston stochastic vol around 30 %, no drift, "
            "IV premium sticky above realised.",
            _P(
                model="heston",
                mu=0.0,
                heston_kappa=4.0,
                heston_theta=0.09,
                heston_xi=0.5,
                heston_rho=-0.3,
                heston_v0=0.09,
                volume_per_minute=60.0,
                basis_std=1.5e-4,
                funding_vol=5e-5,
                iv_vrp=0.15,
            ),
        ),
        Preset(
            "reference",
            "The benchmark reference job's market: GBM 80 % vol, zero drift, constant funding "
            "0.01 %/8 h, constant IV 60 %, index = mark = close.",
            _P(
                model="gbm",
                mu=0.0,
                sigma=0.8,
                basis_mean=0.0,
                basis_std=0.0,
                funding_vol=0.0,
                funding_rally_beta=0.0,
                funding_selloff_beta=0.0,
                iv_fixed=0.6,
            ),
        ),
    )
}

ALIASES: dict[str, str] = {"default": DEFAULT_PRESET}


def list_presets() -> dict[str, str]:
    """Preset names (aliases included) with one-line descriptions, in display order."""
    out = {name: p.description for name, p in PRESETS.items()}
    for alias, target in ALIASES.items():
        out[alias] = f"alias of {target!r}"
    return out


def _valid_preset_names() -> str:
    return ", ".join(sorted([*PRESETS, *ALIASES]))


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (aliases resolved); ``ConfigError`` listing valid names."""
    if not isinstance(name, str):
        raise ConfigError(f"preset must be a name (str), got {name!r}")
    key = ALIASES.get(name, name)
    if key not in PRESETS:
        raise ConfigError(
            f"unknown synthetic preset {name!r}; valid presets: {_valid_preset_names()}"
        )
    return PRESETS[key]


def param_docs() -> dict[str, str]:
    """Parameter name -> one-line description (units and meaning)."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(SyntheticParams)}


# --------------------------------------------------------------------------- overrides


_FIELDS = {f.name: f for f in dataclasses.fields(SyntheticParams)}
_OPTIONAL_FLOATS = {"heston_v0", "iv_fixed"}
_STR_FIELDS = {"model", "initial_regime"}
_INT_FIELDS = {"iv_bar_seconds"}
_REGIME_FIELDS = tuple(f.name for f in dataclasses.fields(Regime))


def _merge_regimes(base: tuple[Regime, ...], value: Any) -> tuple[Regime, ...]:
    if isinstance(value, Mapping):
        cur = dict(zip(REGIME_NAMES, base, strict=True))
        for name, spec in value.items():
            if name not in cur:
                raise ConfigError(
                    f"regimes: unknown regime {name!r}; valid regimes: {', '.join(REGIME_NAMES)}"
                )
            if isinstance(spec, Regime):
                cur[name] = spec
                continue
            if not isinstance(spec, Mapping):
                raise ConfigError(f"regimes[{name!r}] must be a mapping or Regime, got {spec!r}")
            for k in spec:
                if k not in _REGIME_FIELDS:
                    raise ConfigError(
                        f"regimes[{name!r}]: unknown parameter {k!r}; "
                        f"valid parameters: {', '.join(_REGIME_FIELDS)}"
                    )
            cur[name] = dataclasses.replace(
                cur[name], **{k: _num(f"regimes.{name}.{k}", v) for k, v in spec.items()}
            )
        return tuple(cur[n] for n in REGIME_NAMES)
    if isinstance(value, Sequence) and not isinstance(value, str):
        regs = tuple(value)
        if len(regs) != len(REGIME_NAMES) or not all(isinstance(r, Regime) for r in regs):
            raise ConfigError(
                f"regimes must be {len(REGIME_NAMES)} Regime objects ({', '.join(REGIME_NAMES)}) "
                "or a mapping of regime name -> parameters"
            )
        return regs
    raise ConfigError(f"regimes must be a mapping or a sequence of Regime, got {value!r}")


def _merge_switch(base: SwitchMatrix, value: Any) -> SwitchMatrix:
    if isinstance(value, Mapping):
        m = [list(r) for r in base]
        upd = switch_matrix(value)
        for src, row in value.items():
            i = REGIME_NAMES.index(src)
            for dst in row:
                j = REGIME_NAMES.index(dst)
                m[i][j] = upd[i][j]
        return tuple(tuple(r) for r in m)
    arr = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if arr is None or arr.shape != (len(REGIME_NAMES), len(REGIME_NAMES)):
        raise ConfigError(
            "switch_per_day must be a 4x4 matrix or a mapping "
            "{from_regime: {to_regime: probability per day}}"
        )
    np.fill_diagonal(arr, 0.0)
    return tuple(tuple(float(x) for x in r) for r in arr)


def _coerce(name: str, value: Any, base: SyntheticParams) -> Any:
    if name == "regimes":
        return _merge_regimes(base.regimes, value)
    if name == "switch_per_day":
        return _merge_switch(base.switch_per_day, value)
    if name in _STR_FIELDS:
        if not isinstance(value, str):
            raise ConfigError(f"synthetic parameter {name!r} must be a string, got {value!r}")
        return value
    if name in _INT_FIELDS:
        v = _num(name, value)
        if v != int(v):
            raise ConfigError(f"synthetic parameter {name!r} must be an integer, got {value!r}")
        return int(v)
    if name in _OPTIONAL_FLOATS and value is None:
        return None
    return _num(name, value)


def resolve_params(base: SyntheticParams, **overrides: Any) -> SyntheticParams:
    """``base`` with ``overrides`` applied (by field name) and validated."""
    changes = {}
    for name, value in overrides.items():
        if name not in _FIELDS:
            raise ConfigError(
                f"unknown synthetic parameter {name!r}; valid parameters: "
                f"{', '.join(sorted(_FIELDS))}"
            )
        changes[name] = _coerce(name, value, base)
    p = dataclasses.replace(base, **changes) if changes else base
    validate_params(p)
    return p


def _bad(name: str, rule: str, value: Any) -> ConfigError:
    return ConfigError(f"synthetic parameter {name!r} must be {rule}, got {value!r}")


def validate_params(p: SyntheticParams) -> None:
    """Raise ``ConfigError`` naming the first non-physical parameter of ``p``."""
    if p.model not in MODELS:
        raise ConfigError(
            f"synthetic parameter 'model' must be one of {', '.join(MODELS)}, got {p.model!r}"
        )
    for name in (f.name for f in dataclasses.fields(p)):
        v = getattr(p, name)
        if isinstance(v, float) and not math.isfinite(v):
            raise _bad(name, "finite", v)
    positive = (
        "s0",
        "heston_kappa",
        "heston_theta",
        "volume_per_minute",
        "volume_ref_vol",
        "basis_halflife_minutes",
        "funding_interval_hours",
        "funding_halflife_hours",
        "funding_cap",
        "iv_bar_seconds",
        "iv_tenor_days",
        "iv_halflife_hours",
        "iv_floor",
        "iv_cap",
    )
    for name in positive:
        if not getattr(p, name) > 0:
            raise _bad(name, "> 0", getattr(p, name))
    nonneg = (
        "sigma",
        "jump_intensity",
        "jump_std",
        "heston_xi",
        "volume_sigma",
        "volume_return_beta",
        "basis_std",
        "funding_vol",
        "iv_vol_of_vol",
        "iv_crash_spike",
    )
    for name in nonneg:
        if getattr(p, name) < 0:
            raise _bad(name, ">= 0", getattr(p, name))
    if p.heston_v0 is not None and p.heston_v0 < 0:
        raise _bad("heston_v0", ">= 0 or None", p.heston_v0)
    if not -1.0 <= p.heston_rho <= 1.0:
        raise _bad("heston_rho", "in [-1, 1]", p.heston_rho)
    if not -1.0 <= p.iv_return_corr <= 1.0:
        raise _bad("iv_return_corr", "in [-1, 1]", p.iv_return_corr)
    if p.iv_vrp <= -1.0:
        raise _bad("iv_vrp", "> -1", p.iv_vrp)
    if p.iv_cap <= p.iv_floor:
        raise _bad("iv_cap", f"> iv_floor ({p.iv_floor})", p.iv_cap)
    if p.iv_fixed is not None and not p.iv_fixed > 0:
        raise _bad("iv_fixed", "> 0 or None", p.iv_fixed)
    if abs(p.basis_mean) >= 0.5:
        raise _bad("basis_mean", "in (-0.5, 0.5)", p.basis_mean)
    if p.basis_std >= 0.1:
        raise _bad("basis_std", "< 0.1", p.basis_std)
    secs = p.funding_interval_hours * 3600.0
    if secs != int(secs) or 86400 % int(secs) != 0:
        raise _bad(
            "funding_interval_hours", "a divisor of 24 (e.g. 1, 2, 4, 8)", p.funding_interval_hours
        )
    if p.initial_regime not in REGIME_NAMES:
        raise ConfigError(
            f"synthetic parameter 'initial_regime' must be one of {', '.join(REGIME_NAMES)}, "
            f"got {p.initial_regime!r}"
        )
    if len(p.regimes) != len(REGIME_NAMES):
        raise _bad("regimes", f"{len(REGIME_NAMES)} Regime objects", p.regimes)
    for name, r in zip(REGIME_NAMES, p.regimes, strict=True):
        for k in _REGIME_FIELDS:
            v = getattr(r, k)
            if not math.isfinite(v):
                raise _bad(f"regimes.{name}.{k}", "finite", v)
        for k in ("sigma", "jump_intensity", "jump_std"):
            if getattr(r, k) < 0:
                raise _bad(f"regimes.{name}.{k}", ">= 0", getattr(r, k))
    sw = np.array(p.switch_per_day, dtype=float)
    if sw.shape != (len(REGIME_NAMES), len(REGIME_NAMES)):
        raise _bad("switch_per_day", "a 4x4 matrix", p.switch_per_day)
    for i, src in enumerate(REGIME_NAMES):
        row = [float(sw[i, j]) for j in range(len(REGIME_NAMES)) if j != i]
        if not all(math.isfinite(x) and 0.0 <= x <= 1.0 for x in row):
            raise _bad(f"switch_per_day.{src}", "probabilities in [0, 1]", row)
        if sum(row) >= 1.0:
            raise ConfigError(
                f"synthetic parameter 'switch_per_day.{src}': switch probabilities sum to "
                f"{sum(row):.6g}; they must sum to < 1 (the rest is the probability of staying "
                "a whole day)"
            )
    regime_generator(sw)


def params_to_dict(p: SyntheticParams) -> dict[str, Any]:
    """Plain JSON-able dict of ``p`` (regimes and switches keyed by regime name)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(p):
        v = getattr(p, f.name)
        if f.name == "regimes":
            v = {n: dataclasses.asdict(r) for n, r in zip(REGIME_NAMES, v, strict=True)}
        elif f.name == "switch_per_day":
            v = {
                src: {dst: v[i][j] for j, dst in enumerate(REGIME_NAMES) if j != i}
                for i, src in enumerate(REGIME_NAMES)
            }
        out[f.name] = v
    return out
