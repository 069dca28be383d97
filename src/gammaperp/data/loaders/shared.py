"""The curated CSV layouts of the project's shared data directory (``../shared/data``; see
its README). File names carry venue, market and symbol:
``{venue}_{market}_{SYMBOL}_{tf}_...`` (candles) and ``{venue}_{SYMBOL}_perp_funding...``.

* ``shared_ohlcv`` (``ohlcv_1m/``, ``ohlcv_5m/``): ``open_time_ms`` (bar open, ms UTC),
  ``open_time_utc`` (derived ISO copy, spot-checked), ``open, high, low, close, volume``.
* ``funding_history_csv`` (README §3a): ``symbol, date_source, funding_time_utc,
  funding_rate``; ``funding_time_utc`` (ISO, ``Z``) is used, ``funding_rate`` is decimal.
  dYdX v3 files are labelled BTC-USDT by their source but the market is USD(C)-quoted: the
  symbol is returned as ``BTCUSD`` (``meta["source_symbol"]`` keeps the label).
* ``funding_pct_csv`` (§3d): ``funding_time_ms, funding_time_utc, funding_rate_pct`` with
  the rate in **percent** (divided by 100 here).
* ``funding_ft_csv`` (§3d): ``funding_time_utc, funding_rate`` (decimal; freqtrade source).
* ``multi_venue_8h`` (§3c): one file with 18 instruments ({Binance, Bybit, OKX} x {BTC, ETH}
  x {spot, USDT perp, coin-margined perp}); returns one ``ohlcv`` Series per instrument
  (8-hour bars) and one ``funding`` Series per perp. ``time`` is Europe/London local time
  (converted here, DST-aware, and cross-checked against the derived ``time_utc``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    GapPolicy,
    Raw,
    epoch_to_ns,
    finish,
    fmt_ts,
    infer_interval_hours,
    localize,
    normalize_symbol,
    parse_shared_name,
    read_csv,
    read_source,
    require,
    resolve_rate_unit,
    strings_to_ns,
    tf_seconds,
    to_float,
)
from gammaperp.errors import DataError

OHLCV_COLUMNS = ("open_time_ms", "open_time_utc", "open", "high", "low", "close", "volume")
HISTORY_COLUMNS = ("symbol", "date_source", "funding_time_utc", "funding_rate")
PCT_COLUMNS = ("funding_time_ms", "funding_time_utc", "funding_rate_pct")
FT_COLUMNS = ("funding_time_utc", "funding_rate")
MULTI_COLUMNS = (
    "time",
    "exchange",
    "crypto",
    "pair",
    "contract",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "funding rate",
)


def _as_raw(src: str | Path | Raw) -> Raw:
    return src if isinstance(src, Raw) else read_source(src)


def load_shared_ohlcv(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """``open_time_ms,open_time_utc,open,high,low,close,volume`` candles -> ``ohlcv``."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=("open_time_ms", "open", "high", "low", "close", "volume"),
        types={"open_time_ms": "int", "open_time_utc": "str"}
        | {c: "float" for c in ("open", "high", "low", "close", "volume")},
    )
    f, lines = tab.frame, tab.lines
    ts, unit = epoch_to_ns(f["open_time_ms"], raw.name, "open_time_ms", lines)
    if "open_time_utc" in f.columns and len(f):
        for i in {0, len(f) - 1}:
            iso = strings_to_ns(f["open_time_utc"].iloc[[i]], raw.name, "open_time_utc", lines[[i]])
            if iso[0] != ts[i]:
                raise DataError(
                    f"{raw.name} row {lines[i]} column 'open_time_utc': "
                    f"{f['open_time_utc'].iloc[i]} disagrees with open_time_ms ({fmt_ts(ts[i])})"
                )
    info = parse_shared_name(Path(raw.name).name)
    sym = require(symbol or info.symbol, "symbol", raw.name, "pass symbol='BTCUSDT'")
    mk = require(market or info.market, "market", raw.name, "pass market='spot' or 'perp'")
    vn = venue or info.venue or "unknown"
    bar = tf_seconds(info.timeframe) if info.timeframe else None
    meta = {
        "format": "shared_ohlcv",
        "bar_seconds": bar,
        "ts_unit": unit,
        "volume_unit": "base",
        "last_bar_may_be_incomplete": True,
    }
    if vn == "ftx":
        meta["volume_unit"] = "quote"
        meta["volume_unit_verified"] = False
    cols = {c: f[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    return finish(
        cols,
        ts,
        lines,
        name=raw.name,
        ts_column="open_time_ms",
        kind="ohlcv",
        venue=vn,
        symbol=sym,
        market=mk,
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )


def _funding_series(
    raw: Raw,
    ts: np.ndarray,
    rate: np.ndarray,
    lines: np.ndarray,
    ts_column: str,
    fmt: str,
    *,
    venue: str | None,
    symbol: str | None,
    market: str | None,
    check: bool,
    gap_policy: GapPolicy,
    source_symbol: str | None = None,
) -> Series | list[Series]:
    info = parse_shared_name(Path(raw.name).name)
    vn = venue or info.venue or "unknown"
    sym = symbol or info.symbol
    meta: dict[str, object] = {"format": fmt}
    if vn == "dydx" and not symbol and sym and sym.endswith("USDT"):
        meta["source_symbol"] = source_symbol or sym
        sym = sym[: -len("USDT")] + "USD"  # dYdX v3 markets are USD(C)-quoted
    elif source_symbol:
        meta["source_symbol"] = source_symbol
    sym = require(sym, "symbol", raw.name, "pass symbol='BTCUSDT'")
    meta["interval_hours"] = infer_interval_hours(ts)
    return finish(
        {"rate": rate},
        ts,
        lines,
        name=raw.name,
        ts_column=ts_column,
        kind="funding",
        venue=vn,
        symbol=sym,
        market=market or info.market or "perp",
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )


def load_funding_history_csv(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """README §3a layout -> ``funding`` (decimal rates, UTC times from funding_time_utc)."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=HISTORY_COLUMNS,
        strings=("symbol", "date_source", "funding_time_utc", "funding_rate"),
    )
    f, lines = tab.frame, tab.lines
    ts = strings_to_ns(f["funding_time_utc"], raw.name, "funding_time_utc", lines)
    rs = f["funding_rate"].str.strip()
    pct = bool(rs.str.endswith("%").any())
    rate = to_float(rs, raw.name, "funding_rate", lines, percent_sign=pct)
    factor = resolve_rate_unit(
        rate_unit,
        name=raw.name,
        column="funding_rate",
        values=rate,
        has_percent_sign=pct,
        format_unit="decimal",
    )
    src_sym = str(f["symbol"].iloc[0]) if len(f) else None
    return _funding_series(
        raw,
        ts,
        rate * factor,
        lines,
        "funding_time_utc",
        "funding_history_csv",
        venue=venue,
        symbol=symbol,
        market=market,
        check=check,
        gap_policy=gap_policy,
        source_symbol=src_sym,
    )


def load_funding_pct_csv(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """README §3d ``funding_rate_pct`` layout -> ``funding`` (percent / 100)."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=("funding_time_ms", "funding_rate_pct"),
        types={"funding_time_ms": "int", "funding_rate_pct": "float"},
        strings=("funding_time_utc",),
    )
    f, lines = tab.frame, tab.lines
    ts, _ = epoch_to_ns(f["funding_time_ms"], raw.name, "funding_time_ms", lines)
    rate = f["funding_rate_pct"].to_numpy(dtype=np.float64)
    factor = resolve_rate_unit(rate_unit, name=raw.name, column="funding_rate_pct", values=rate)
    return _funding_series(
        raw,
        ts,
        rate * factor,
        lines,
        "funding_time_ms",
        "funding_pct_csv",
        venue=venue,
        symbol=symbol,
        market=market,
        check=check,
        gap_policy=gap_policy,
    )


def load_funding_ft_csv(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """README §3d ``funding_time_utc,funding_rate`` layout -> ``funding`` (decimal)."""
    raw = _as_raw(path)
    tab = read_csv(raw, expected=FT_COLUMNS, strings=FT_COLUMNS)
    f, lines = tab.frame, tab.lines
    ts = strings_to_ns(f["funding_time_utc"], raw.name, "funding_time_utc", lines)
    rs = f["funding_rate"].str.strip()
    pct = bool(rs.str.endswith("%").any())
    rate = to_float(rs, raw.name, "funding_rate", lines, percent_sign=pct)
    factor = resolve_rate_unit(
        rate_unit,
        name=raw.name,
        column="funding_rate",
        values=rate,
        has_percent_sign=pct,
        format_unit="decimal",
    )
    return _funding_series(
        raw,
        ts,
        rate * factor,
        lines,
        "funding_time_utc",
        "funding_ft_csv",
        venue=venue,
        symbol=symbol,
        market=market,
        check=check,
        gap_policy=gap_policy,
    )


_CRYPTO = {"bitcoin": "BTC", "ethereum": "ETH"}


def _multi_symbol(pair: str, contract: str, crypto: str) -> tuple[str, str]:
    pair = pair.strip().upper()
    if contract.strip().lower() == "spot":
        sym, _ = normalize_symbol(pair)
        return sym, "spot"
    m = re.fullmatch(r"([A-Z0-9]+?)(USD)CM", pair)
    if m:
        return m.group(1) + "USD", "inverse_perp"
    sym, mk = normalize_symbol(pair)
    return sym, mk if mk and mk != "spot" else "perp"


def load_multi_venue_8h(
    path: str | Path | Raw,
    *,
    tz: str = "Europe/London",
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> list[Series]:
    """README §3c file -> list of ``ohlcv`` (18) and ``funding`` (12) Series."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=MULTI_COLUMNS,
        types={c: "float" for c in ("open", "high", "low", "close", "volume", "funding rate")},
        strings=("time", "time_utc", "exchange", "crypto", "pair", "contract"),
    )
    f, lines = tab.frame, tab.lines
    name = raw.name
    try:
        parsed = pd.to_datetime(f["time"].str.strip(), format="%Y-%m-%d %H:%M:%S")
    except ValueError:
        probe = pd.to_datetime(f["time"].str.strip(), format="%Y-%m-%d %H:%M:%S", errors="coerce")
        i = int(np.flatnonzero(probe.isna().to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'time': cannot parse {f['time'].iloc[i]!r}"
        ) from None
    utc = localize(parsed, tz, name, "time", lines, grid_hours=8)
    ts = utc.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    if "time_utc" in f.columns:
        dv = strings_to_ns(f["time_utc"], name, "time_utc", lines)
        bad = np.flatnonzero(dv != ts)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{name} row {lines[i]} column 'time_utc': {f['time_utc'].iloc[i]} disagrees "
                f"with 'time' {f['time'].iloc[i]} in {tz} ({fmt_ts(ts[i])})"
            )
    rate_all = f["funding rate"].to_numpy(dtype=np.float64)
    factor = resolve_rate_unit(
        rate_unit, name=name, column="funding rate", values=rate_all, format_unit="decimal"
    )
    out: list[Series] = []
    keys = ["exchange", "pair", "contract"]
    groups = f.groupby(keys, sort=True).indices
    for (exch, pair, contract), pos in groups.items():
        pos = np.sort(pos)
        crypto = str(f["crypto"].iloc[pos[0]])
        sym, mk = _multi_symbol(str(pair), str(contract), crypto)
        vn = str(exch).strip().lower()
        g_ts, g_lines = ts[pos], lines[pos]
        cols = {c: f[c].to_numpy()[pos] for c in ("open", "high", "low", "close", "volume")}
        meta = {
            "format": "multi_venue_8h",
            "bar_seconds": 8 * 3600,
            "volume_unit": "base" if mk != "inverse_perp" else "unverified",
            "source_pair": str(pair),
        }
        res = finish(
            cols,
            g_ts,
            g_lines,
            name=name,
            ts_column="time",
            kind="ohlcv",
            venue=vn,
            symbol=sym,
            market=mk,
            source=raw.source,
            meta=meta,
            check=check,
            gap_policy=gap_policy,
        )
        out.extend(res if isinstance(res, list) else [res])
        if str(contract).strip().lower() != "spot":
            r = rate_all[pos] * factor
            fmeta = {"format": "multi_venue_8h", "interval_hours": 8.0, "source_pair": str(pair)}
            res = finish(
                {"rate": r},
                g_ts,
                g_lines,
                name=name,
                ts_column="time",
                kind="funding",
                venue=vn,
                symbol=sym,
                market=mk,
                source=raw.source,
                meta=fmeta,
                check=check,
                gap_policy=gap_policy,
            )
            out.extend(res if isinstance(res, list) else [res])
    return out
