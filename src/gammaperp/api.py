"""The Python API for notebooks and scripts: experiment config in, :class:`Result` out.

>>> import gammaperp
>>> res = gammaperp.run({"market": {"bars": 10_000}})      # doctest: +SKIP
>>> res.summary["total_pnl"], res.equity.tail()              # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gammaperp.config import (
    ExperimentConfig,
    config_fingerprint,
    config_to_dict,
    load_config,
    validate_config,
)
from gammaperp.engine import simulate
from gammaperp.engine.specs import ExecutionSpec, RunSpec, StraddleSpec, VenueSpec
from gammaperp.errors import ConfigError, DataError
from gammaperp.market.build import market_from_series, underlying_of
from gammaperp.market.model import Instrument, Market
from gammaperp.results.result import Result

BPS = 1e-4


def as_config(
    config: ExperimentConfig | dict[str, Any] | str | os.PathLike[str] | None,
) -> ExperimentConfig:
    """Accept a config object, a dict, or a path to a TOML/YAML/JSON file (None: defaults)."""
    if config is None:
        return ExperimentConfig()
    if isinstance(config, ExperimentConfig):
        return config
    if isinstance(config, dict):
        return validate_config(config, source="<dict>")
    return load_config(config)


def instruments_for(cfg: ExperimentConfig) -> list[Instrument]:
    """One perp per configured venue, named by the venue's ``perp_symbol``."""
    out = []
    for v in cfg.venues:
        out.append(
            Instrument(
                name=v.perp_symbol,
                venue=v.name,
                kind="perp_inverse" if v.contract_type == "inverse" else "perp_linear",
                underlying=underlying_of(v.perp_symbol),
                contract_size=v.contract_size,
                tick_size=v.tick_size,
                lot_size=v.lot_size,
            )
        )
    return out


def build_market(cfg: ExperimentConfig) -> Market:
    """The market a config asks for: a seeded synthetic preset, or loaded data files."""
    m = cfg.market
    insts = instruments_for(cfg)
    common: dict[str, Any] = {
        "iv": m.iv_constant,
        "iv_scale": m.iv_scale,
        "funding_constant": m.funding_constant,
        "funding_interval_hours": m.funding_interval_hours,
        "skew": m.iv_skew,
        "curvature": m.iv_curvature,
    }
    if m.source == "synthetic":
        from gammaperp.data.synthetic import generate

        start = m.start.isoformat() if hasattr(m.start, "isoformat") else str(m.start)
        syn = generate(
            m.preset,
            seed=cfg.seed,
            start=start,
            bars=m.bars,
            bar_seconds=m.bar_seconds,
            s0=m.s0,
            symbol=m.symbol,
        )
        meta = {"source": f"synthetic:{m.preset}", "synthetic_fingerprint": syn.fingerprint()}
        return market_from_series(syn.ohlcv, insts, syn.funding, syn.iv, meta=meta, **common)
    if m.source == "store":
        ohlcv, funding, iv, meta = load_store(cfg)
    else:
        ohlcv, funding, iv = load_files(cfg)
        meta = {"source": f"files:{Path(str(m.ohlcv)).name}"}
        if m.window is not None:
            ohlcv, funding, iv = (_trim(x, *_window_span(m.window)) for x in (ohlcv, funding, iv))
            meta["window"] = m.window
    return market_from_series(ohlcv, insts, funding, iv, meta=meta, **common)


def _window_span(name: str):
    from gammaperp.data.windows import get_window

    w = get_window(name)
    return w.start, w.end


def _trim(series, start, end):
    """Rows of ``series`` with ``start <= ts < end`` (None passes through)."""
    if series is None:
        return None
    from dataclasses import replace

    f = series.frame
    sub = f[(f.index >= start) & (f.index < end)]
    if series.kind == "ohlcv" and len(sub) < 2:
        raise DataError(
            f"{series.source or series.key}: fewer than 2 bars between {start} and {end}"
        )
    return replace(series, frame=sub)


def load_store(cfg: ExperimentConfig):
    """Bars, funding and IV for ``market.symbol`` from the data store (``GAMMAPERP_HOME``).

    With ``market.window`` the window is resolved against what is stored (best bar size and
    coverage, funding and IV coverage); whatever is missing is said in the error or recorded in
    the market's metadata. Without a window the span is ``market.start`` plus ``market.bars``.
    """
    import pandas as pd

    from gammaperp.data.store import Store
    from gammaperp.data.windows import resolve

    m = cfg.market
    store = Store()
    meta: dict[str, Any] = {"source": f"store:{m.symbol}"}
    if m.window is not None:
        res = resolve(m.window, store, symbol=m.symbol)
        if res.best is None:
            raise DataError(
                f"window {m.window!r}: no stored {m.symbol} bars cover it: "
                + "; ".join(res.statements)
            )
        best = res.best
        start, end = res.window.start, res.window.end
        ohlcv = store.get(
            best.symbol,
            venue=best.venue,
            market=best.market,
            kind="ohlcv",
            bar=best.bar_seconds,
            start=start,
            end=end,
        )
        funding = _best_stored(store, res.funding, "funding", start, end)
        iv = None
        if m.iv_constant is None:
            # IV is as-of (no look-ahead): read from one day before the window
            iv = _best_stored(store, res.iv, "iv", start - pd.Timedelta(days=2), end)
        meta.update({"window": m.window, "coverage": "; ".join(res.statements)})
        return _apply_gap_policy(ohlcv, m.gap_policy), funding, iv, meta
    start = pd.Timestamp(m.start)
    end = start + pd.Timedelta(seconds=m.bar_seconds * m.bars)
    row = store.resolve(m.symbol, kind="ohlcv", bar=m.bar_seconds)
    ohlcv = store.get(
        row["symbol"],
        venue=row["venue"],
        market=row["market"],
        kind="ohlcv",
        bar=m.bar_seconds,
        start=start,
        end=end,
    )
    if len(ohlcv) < 2:
        raise DataError(f"store has fewer than 2 {m.symbol} bars from {start} to {end}")
    ohlcv = _apply_gap_policy(ohlcv, m.gap_policy)
    funding = _first_or_none(store, m.symbol, "funding", start, end)
    iv = None
    if m.iv_constant is None:
        iv = _first_or_none(store, _base(m.symbol), "iv", start - pd.Timedelta(days=2), end)
    return ohlcv, funding, iv, meta


def _base(symbol: str) -> str:
    return underlying_of(symbol)


def _best_stored(store, coverages, kind, start, end):
    """The best-covering stored series of ``kind`` (or None), restricted to the span."""
    if not coverages:
        return None
    c = max(coverages, key=lambda x: x.present / max(x.expected, 1))
    return store.get(c.symbol, venue=c.venue, market=c.market, kind=kind, start=start, end=end)


def _first_or_none(store, symbol, kind, start, end):
    rows = store.find(symbol, kind=kind)
    if not rows:
        return None
    r = rows[0]
    return store.get(
        r["symbol"], venue=r["venue"], market=r["market"], kind=kind, start=start, end=end
    )


def load_files(cfg: ExperimentConfig):
    """Load and validate the data files a config names (``market.ohlcv/funding/iv``)."""
    from gammaperp.data.loaders import load

    m = cfg.market

    def one(path: Any, kind: str):
        if path is None:
            return None
        got = load(path, kind=kind)
        if isinstance(got, list):
            matches = [s for s in got if s.kind == kind]
            if len(matches) != 1:
                raise DataError(
                    f"{path}: holds {len(got)} series; name one with a single-series file"
                )
            got = matches[0]
        return got

    ohlcv = one(m.ohlcv, "ohlcv")
    if ohlcv is None:
        raise ConfigError("market.ohlcv: required when market.source = 'files'")
    ohlcv = _apply_gap_policy(ohlcv, m.gap_policy)
    funding = one(m.funding, "funding")
    iv = one(m.iv, "iv")
    return ohlcv, funding, iv


def _apply_gap_policy(ohlcv, policy: str):
    """Validate bars; ``fail`` raises on gaps (naming them), ``ffill`` fills them with bars
    marked synthetic, ``split`` keeps the longest gap-free segment (recorded in meta)."""
    from gammaperp.data.validate import validate

    report = validate(ohlcv, gap_policy=policy)
    report.raise_for_errors()
    if policy == "split":
        segments = list(getattr(report, "segments", None) or [])
        if segments:
            return max(segments, key=len)
    return getattr(report, "series", None) or ohlcv


def run_spec(cfg: ExperimentConfig) -> RunSpec:
    """Translate an experiment config into the engine's specs (rates from bps to decimals)."""
    venues = tuple(
        VenueSpec(
            name=v.name,
            taker_fee=v.taker_fee_bps * BPS,
            maker_fee=v.maker_fee_bps * BPS,
            leverage=v.leverage,
            capital=v.initial_capital,
            liquidation_fee=v.liquidation_fee_bps * BPS,
            on_liquidation=v.on_liquidation,
            margin_mode=v.margin_mode,
            tiers=v.maintenance_tiers,
            flat_mmr=v.flat_mmr,
        )
        for v in cfg.venues
    )
    st = cfg.strategy
    hv_name = cfg.hedge.venue or cfg.venues[0].name
    hv = next(v for v in cfg.venues if v.name == hv_name)
    first = cfg.venues[0]
    strategy = StraddleSpec(
        instrument=first.perp_symbol,
        venue=first.name,
        side=1 if st.side == "long" else -1,
        quantity=st.quantity,
        expiry_days=st.expiry_days,
        roll_days_before=st.roll_days_before,
        settlement=st.option_settlement,
        option_fee=st.option_fee_bps * BPS,
        model=st.pricing_model,
        rate=st.rate,
        hedge_instrument=hv.perp_symbol,
        hedge_venue=hv.name,
        band=cfg.hedge.band,
        target=cfg.hedge.target,
        order_type=cfg.hedge.order_type,
        limit_offset=cfg.hedge.limit_offset_bps * BPS,
        triggers=tuple(cfg.hedge.triggers),
        move_abs=cfg.hedge.price_move_usd or 0.0,
        move_pct=cfg.hedge.price_move_pct or 0.0,
        interval_minutes=cfg.hedge.interval_minutes or 0.0,
        risk_aversion=cfg.hedge.risk_aversion or 0.0,
        leland=cfg.hedge.leland,
        leland_interval_minutes=cfg.hedge.leland_interval_minutes or 0.0,
    )
    ex = cfg.execution
    execution = ExecutionSpec(
        slippage=ex.slippage_model,
        slippage_bps=ex.slippage_bps,
        vol_k=ex.vol_slippage_k,
        impact_k=ex.impact_k,
        latency=ex.latency_model,
        latency_ms=ex.latency_ms,
        latency_sigma=ex.latency_sigma,
        latency_vol_widening=ex.latency_vol_widening,
        seed=cfg.seed,
    )
    return RunSpec(venues=venues, strategy=strategy, execution=execution)


def run(
    config: ExperimentConfig | dict[str, Any] | str | os.PathLike[str] | None = None,
    *,
    market: Market | None = None,
    out: str | os.PathLike[str] | None = None,
    report: bool = True,
) -> Result:
    """Run an experiment: build (or take) the market, simulate, optionally save the run dir.

    ``out`` (or ``output.dir`` in the config) writes the run directory atomically, with its
    ``report.html`` unless ``report=False``.
    """
    cfg = as_config(config)
    mkt = market if market is not None else build_market(cfg)
    resolved = config_to_dict(cfg)
    resolved["_fingerprint"] = config_fingerprint(cfg)
    res = simulate(mkt, run_spec(cfg), record=cfg.output.record, config=resolved)
    target = out if out is not None else cfg.output.dir
    if target is not None:
        res.save(target, overwrite=cfg.output.overwrite)
        if report:
            from gammaperp.report import build_report

            build_report(target)
    return res
