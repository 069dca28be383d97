"""Lazy bridge to :mod:`gammaperp.analytics` (metrics, attribution, vol analytics).

The report works without it: every section that needs it shows a labelled "not available"
placeholder carrying the reason (not installed, function missing, or the error it raised).

The analytics functions read a ``Result`` (its frames plus ``market``, ``spec``,
``venue_names``, ``inst_venue``, ``stride``). A report built from a ``Result`` hands it over
as is. A report rebuilt from a run directory rehydrates one: the input market is rebuilt from
``config.json`` (seeded synthetic presets and data files are deterministic) and accepted only
if its fingerprint equals ``market.json``'s; the frames come from the directory's Parquet
files. If the market cannot be rebuilt (data file moved, store missing), the analytics
sections say so and the rest of the report is unaffected.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MODULE = "gammaperp.analytics"

# hook -> (function name in gammaperp.analytics, needs the rehydrated market)
HOOKS: dict[str, str] = {
    "metrics": "compute_metrics",
    "attribution": "attribute_pnl",
    "vol": "realized_vs_implied",
    "gamma": "theoretical_gamma_pnl",
}

# Columns of the ledgers a record="summary" Result exposes as empty frames.
_EMPTY = {
    "trades": ("bar", "venue", "instrument", "side", "qty", "price", "ref_price", "fee",
               "slippage", "reason", "order_type", "decided_bar"),
    "funding": ("bar", "instrument", "position", "mark", "rate", "payment"),
    "rolls": ("bar", "event", "strike", "expiry", "call_qty", "put_qty", "underlying",
              "cash_flow"),
    "liquidations": ("bar", "venue", "instrument", "qty", "price", "fee", "equity_before",
                     "maint_margin"),
}  # fmt: skip


@dataclass
class Outcome:
    value: Any = None
    reason: str | None = None  # why value is None

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass
class RehydratedResult:
    """The attributes of a ``Result`` that analytics reads, from a run directory."""

    market: Any
    spec: Any
    venue_names: tuple[str, ...]
    inst_venue: np.ndarray
    stride: int
    full: bool
    summary: dict[str, Any]
    equity: pd.DataFrame
    trades: pd.DataFrame
    funding: pd.DataFrame
    rolls: pd.DataFrame
    liquidations: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def record_bars(self) -> np.ndarray:
        """Bar index of each recorded row (as ``Result.record_bars``)."""
        n = self.market.n_bars
        rows = np.arange(len(self.equity))
        return np.minimum(rows * self.stride + self.stride - 1, n - 1)


def _empty(name: str) -> pd.DataFrame:
    idx = pd.DatetimeIndex([], tz="UTC", name="ts")
    return pd.DataFrame({c: [] for c in _EMPTY[name]}, index=idx)


def rehydrate(run: Any) -> tuple[Any, str | None]:
    """``(result-like, None)`` or ``(None, reason)`` for a :class:`RunData`."""
    if run.result is not None:
        return run.result, None
    body = {k: v for k, v in (run.config or {}).items() if not str(k).startswith("_")}
    if not body:
        return None, "the run directory has no config.json to rebuild the input market from"
    try:
        from gammaperp.api import build_market, run_spec
        from gammaperp.config import ExperimentConfig

        cfg = ExperimentConfig.model_validate(body)
        market = build_market(cfg)
        spec = run_spec(cfg)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"cannot rebuild the input market from config.json ({msg})"
    want = (run.market_info or {}).get("fingerprint")
    if want and market.fingerprint() != want:
        return None, (
            "the input market rebuilt from config.json differs from the run's (market.json "
            "fingerprint mismatch: the data files changed since the run)"
        )
    names = tuple(v.name for v in spec.venues)
    try:
        inst_venue = np.array([names.index(i.venue) for i in market.instruments], np.int64)
    except ValueError:
        return None, "the config's venues do not match the market's instruments"
    stride = 1
    if not run.full and len(run.equity):
        first = pd.DatetimeIndex(run.equity.index[:1]).as_unit("ns").asi8[0]
        stride = int(np.searchsorted(np.asarray(market.ts, np.int64), first)) + 1
    frames = {
        k: (getattr(run, k) if run.full and getattr(run, k) is not None else _empty(k))
        for k in _EMPTY
    }
    return (
        RehydratedResult(
            market=market,
            spec=spec,
            venue_names=names,
            inst_venue=inst_venue,
            stride=stride,
            full=run.full,
            summary=run.summary,
            equity=run.equity,
            config=run.config,
            **frames,
        ),
        None,
    )


def _module() -> tuple[Any, str | None]:
    try:
        return importlib.import_module(MODULE), None
    except ModuleNotFoundError as exc:
        if exc.name and MODULE.startswith(exc.name):
            return None, f"{MODULE} is not installed yet"
        return None, f"{MODULE} failed to import: {exc}"
    except Exception as exc:
        return None, f"{MODULE} failed to import: {type(exc).__name__}: {exc}"


class Analytics:
    """Calls each hook at most once per report; never raises."""

    def __init__(self, run: Any) -> None:
        self._run = run
        self._mod, self._reason = _module()
        self._arg: Any = None
        self._arg_reason: str | None = None
        self._cache: dict[str, Outcome] = {}

    @property
    def available(self) -> bool:
        return self._mod is not None

    def _result(self) -> tuple[Any, str | None]:
        if self._arg is None and self._arg_reason is None:
            self._arg, self._arg_reason = rehydrate(self._run)
        return self._arg, self._arg_reason

    def get(self, hook: str, **kwargs: Any) -> Outcome:
        key = hook + repr(sorted(kwargs.items()))
        if key not in self._cache:
            self._cache[key] = self._call(hook, kwargs)
        return self._cache[key]

    def _call(self, hook: str, kwargs: dict[str, Any]) -> Outcome:
        if self._mod is None:
            return Outcome(reason=self._reason)
        name = HOOKS[hook]
        fn = getattr(self._mod, name, None)
        if not callable(fn):
            return Outcome(reason=f"{MODULE} has no {name}() yet")
        arg, reason = self._result()
        if arg is None:
            return Outcome(reason=reason)
        try:
            value = fn(arg, **kwargs)
        except Exception as exc:  # a failing analytics function must not lose the report
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if isinstance(exc, ValueError) and text:  # a deliberate, readable refusal
                return Outcome(reason=f"{text} ({MODULE}.{name})")
            return Outcome(reason=f"{MODULE}.{name}() failed: {type(exc).__name__}: {text}")
        if value is None:
            return Outcome(reason=f"{MODULE}.{name}() returned nothing")
        return Outcome(value=value)
