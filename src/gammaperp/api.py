"""The Python API for notebooks and scripts: experiment config in, :class:`Result` out.

>>> import gammaperp
>>> res = gammaperp.run({"market": {"bars": 10_000}})      # doctest: +SKIP
>>> res.summary["total_pnl"], res.equity.tail()              # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gammaperp.config import (
    ExperimentConfig,
    config_fingerprint,
    config_to_dict,
    load_config,
    validate_config,
)
from gammaperp.config.models import (
    CarryConfig,
    InstrumentConfig,
    PairConfig,
    ScalpConfig,
    StraddleConfig,
    VenueConfig,
    base_asset,
)
from gammaperp.engine import simulate
from gammaperp.engine.specs import (
    CarrySpec,
    ExecutionSpec,
    PairSpec,
    RiskSpec,
    RunSpec,
    ScalpSpec,
    StraddleSpec,
    StrategySpec,
    VenueSpec,
)
from gammaperp.errors import ConfigError, DataError
from gammaperp.market.build import SeriesLeg, market_from_multi, market_from_series, underlying_of
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
    """One perp per configured venue, named by the venue's ``perp_symbol``, then the extra
    ``[[instruments]]`` in order (on their venue, default the first)."""
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
    for x in cfg.instruments:
        out.append(
            Instrument(
                name=x.name,
                venue=x.venue if x.venue is not None else cfg.venues[0].name,
                kind=x.kind,
                underlying=_underlying(cfg, x.name),
                contract_size=x.contract_size,
                tick_size=x.tick_size,
                lot_size=x.lot_size,
            )
        )
    return out


def _underlying(cfg: ExperimentConfig, name: str) -> str:
    """Underlying of an extra instrument: the venues' perps' one when on the same base asset
    (so options and IV group them together), else its base asset."""
    base = base_asset(name)
    for v in cfg.venues:
        if base_asset(v.perp_symbol) == base:
            return underlying_of(v.perp_symbol)
    return base


def _single_series(cfg: ExperimentConfig) -> bool:
    """A straddle whose instruments all share the main series and its funding: the original
    one-series market (kept bit for bit)."""
    return (
        isinstance(cfg.strategy, StraddleConfig)
        and not cfg.instruments
        and all(
            v.funding is None and v.funding_constant is None and v.funding_interval_hours is None
            for v in cfg.venues
        )
    )


def build_market(cfg: ExperimentConfig) -> Market:
    """The market a config asks for: a seeded synthetic preset, or loaded data files.

    Every instrument shares the main series (``market``) unless it has its own prices (an
    ``ohlcv`` file, or a synthetic ``beta`` path) or funding (``venues[i].funding*``,
    ``instruments[j].funding*``); implied vol is attached only where options are written.
    """
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
        ohlcv, funding, iv = syn.ohlcv, syn.funding, syn.iv
    elif m.source == "store":
        ohlcv, funding, iv, meta = load_store(cfg)
    else:
        ohlcv, funding, iv = load_files(cfg)
        meta = {"source": f"files:{Path(str(m.ohlcv)).name}"}
        if m.window is not None:
            ohlcv, funding, iv = (_trim(x, *_window_span(m.window)) for x in (ohlcv, funding, iv))
            meta["window"] = m.window
    if _single_series(cfg):
        return market_from_series(ohlcv, insts, funding, iv, meta=meta, **common)
    return _multi_market(cfg, insts, ohlcv, funding, iv, meta, common)


def _multi_market(cfg, insts, ohlcv, funding, iv, meta, common) -> Market:
    """Each instrument with its own prices / funding where the config gives them."""
    from gammaperp.data.resample import align

    main = align(ohlcv, funding, iv)
    window = _window_span(cfg.market.window) if cfg.market.window is not None else None
    sources: list[VenueConfig | InstrumentConfig] = [*cfg.venues, *cfg.instruments]
    legs = [_leg(cfg, inst, src, main, window) for inst, src in zip(insts, sources, strict=True)]
    iv_underlyings = (insts[0].underlying,) if isinstance(cfg.strategy, StraddleConfig) else ()
    return market_from_multi(main, legs, iv_underlyings=iv_underlyings, meta=meta, **common)


def _leg(cfg, inst: Instrument, src, main, window) -> SeriesLeg:
    """Where one instrument's prices and funding come from (see :class:`SeriesLeg`)."""
    from gammaperp.data.resample import align

    m = cfg.market
    prices: Any = None
    source = ""
    if isinstance(src, InstrumentConfig):
        if src.ohlcv is not None:
            series = _apply_gap_policy(_load_one(src.ohlcv, "ohlcv"), m.gap_policy)
            if window is not None:
                series = _trim(series, *window)
            prices = align(series)
            source = str(src.ohlcv)
        elif src.beta is not None:
            from gammaperp.data.synthetic import beta_path

            prices = beta_path(
                main.close,
                beta=src.beta,
                idio_vol=src.idio_vol or 0.0,
                bar_seconds=main.bar_seconds,
                seed=cfg.seed,
                name=src.name,
                s0=src.s0,
            )
            source = f"synthetic beta {src.beta:g} x {m.symbol}"
    interval = src.funding_interval_hours
    funding: Any = "main"
    if inst.kind == "spot":
        funding = None
    elif src.funding is not None:
        series = _load_one(src.funding, "funding")
        frame = series.frame
        funding = (
            np.asarray(frame.index.as_unit("ns").asi8, dtype=np.int64),
            frame["rate"].to_numpy(np.float64),
        )
        order = np.argsort(funding[0], kind="stable")
        funding = (funding[0][order], funding[1][order])
        if interval is None and series.meta.get("interval_hours") is not None:
            interval = float(series.meta["interval_hours"])
    elif src.funding_constant is not None:
        funding = float(src.funding_constant)
    elif isinstance(src, InstrumentConfig) and base_asset(src.name) != base_asset(m.symbol):
        funding = None  # another asset: the market's funding does not apply
    return SeriesLeg(
        instrument=inst,
        prices=prices,
        funding=funding,
        funding_interval_hours=interval,
        source=source,
    )


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
    m = cfg.market
    ohlcv = _load_one(m.ohlcv, "ohlcv")
    if ohlcv is None:
        raise ConfigError("market.ohlcv: required when market.source = 'files'")
    ohlcv = _apply_gap_policy(ohlcv, m.gap_policy)
    funding = _load_one(m.funding, "funding")
    iv = _load_one(m.iv, "iv")
    return ohlcv, funding, iv


def _load_one(path: Any, kind: str):
    """The one series of ``kind`` in a data file (None for no path)."""
    from gammaperp.data.loaders import load

    if path is None:
        return None
    got = load(path, kind=kind)
    if isinstance(got, list):
        matches = [s for s in got if s.kind == kind]
        if len(matches) != 1:
            raise DataError(f"{path}: holds {len(got)} series; name one with a single-series file")
        got = matches[0]
    return got


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
    strategy = strategy_spec(cfg)
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
    risk = RiskSpec(**cfg.risk.model_dump())
    return RunSpec(venues=venues, strategy=strategy, execution=execution, risk=risk)


def strategy_spec(cfg: ExperimentConfig) -> StrategySpec:
    """The engine spec of ``cfg.strategy`` (legs resolved to explicit instrument and venue)."""
    st = cfg.strategy
    legs = cfg.strategy_legs()
    if isinstance(st, CarryConfig):
        return CarrySpec(
            long_instrument=legs["long"].name,
            short_instrument=legs["short"].name,
            long_venue=legs["long"].venue,
            short_venue=legs["short"].venue,
            quantity=st.quantity,
            entry_apr=st.entry_apr,
            exit_apr=st.exit_apr,
            on_adverse=st.on_adverse,
            direction=st.direction,
            rebalance_tol=st.rebalance_tol,
        )
    if isinstance(st, PairConfig):
        return PairSpec(
            long_instrument=legs["instrument"].name,
            hedge_instrument=legs["hedge"].name,
            long_venue=legs["instrument"].venue,
            hedge_venue=legs["hedge"].venue,
            side=1 if st.side == "long" else -1,
            notional=st.notional,
            window=st.window,
            return_bars=st.return_bars,
            drift_tol=st.drift_tol,
        )
    if isinstance(st, ScalpConfig):
        return ScalpSpec(
            instrument=legs["instrument"].name,
            venue=legs["instrument"].venue,
            quantity=st.quantity,
            max_inventory=st.max_inventory,
            centre_bars=st.centre_bars,
            band_pct=st.band_pct,
            order_type=st.order_type,
        )
    if not isinstance(st, StraddleConfig):  # pragma: no cover - every kind is mapped above
        raise ConfigError(f"strategy.kind: no engine spec for {st.kind!r}")
    hv = cfg.hedge_venue
    first = cfg.venues[0]
    return StraddleSpec(
        instrument=first.perp_symbol,
        venue=first.name,
        side=1 if st.side == "long" else -1,
        quantity=st.quantity,
        expiry_days=st.expiry_days,
        roll_days_before=st.roll_days_before,
        call_moneyness=st.call_moneyness if st.strike == "moneyness" else 1.0,
        put_moneyness=st.put_moneyness if st.strike == "moneyness" else 1.0,
        call_delta=st.call_delta if st.strike == "delta" else 0.0,
        put_delta=st.put_delta if st.strike == "delta" else 0.0,
        premium_budget=st.premium_budget if st.size_by == "premium" else 0.0,
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
        intrabar=cfg.hedge.intrabar,
    )


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
