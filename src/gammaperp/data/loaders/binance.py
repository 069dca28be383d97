"""Binance files: Binance Vision klines and fundingRate (CSV or ZIP), and the web-site
funding-history export.

Binance Vision kline columns (no header in spot files, a header in newer futures files):
``open_time, open, high, low, close, volume, close_time, quote_volume, count,
taker_buy_volume, taker_buy_quote_volume, ignore``. ``open_time`` is ms since the epoch,
except spot files from 2025 on, which use microseconds: the unit is detected per file by
magnitude and a file mixing units is rejected naming the first differing row. For COIN-M
files ``volume`` counts contracts and ``quote_volume`` is the base-asset volume; the loader
returns base-asset ``volume`` and keeps the contract count in ``contracts``.

Binance Vision ``fundingRate`` monthly files: ``calc_time`` (ms), ``funding_interval_hours``,
``last_funding_rate`` (decimal per interval).

Web export ("Funding Rate History" CSV from binance.com): ``Time`` (Europe/London local time
with daylight saving), ``Contracts`` ("BTCUSDT Perpetual", "BTCUSD CM Perpetual"),
``Funding Interval`` ("8h"), ``Funding Rate`` (percent string "0.010000%"); newest first.
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
    head_lines,
    localize,
    normalize_symbol,
    pick,
    read_csv,
    read_source,
    require,
    resolve_rate_unit,
    tf_seconds,
    to_float,
)
from gammaperp.errors import DataError

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
FUNDING_COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")
WEB_COLUMNS = ("Time", "Contracts", "Funding Interval", "Funding Rate")

_VISION_NAME = re.compile(
    r"^(?P<symbol>[A-Z0-9]+(?:_[A-Z0-9]+)?)-(?P<tf>\d+[smhdwM])-(?P<date>\d{4}-\d{2}(?:-\d{2})?)"
)
_VISION_FUNDING_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+(?:_[A-Z0-9]+)?)-fundingRate-")


def _as_raw(src: str | Path | Raw) -> Raw:
    return src if isinstance(src, Raw) else read_source(src)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _vision_market(source: str, symbol_raw: str, has_header: bool, unit: str) -> str | None:
    parts = [p.lower() for p in Path(source).parts]
    if symbol_raw.endswith("_PERP"):
        return "inverse_perp"
    if re.search(r"_\d{6}$", symbol_raw):
        return "future"
    if "spot" in parts:
        return "spot"
    if "cm" in parts:
        return "inverse_perp"
    if "um" in parts or "futures" in parts:
        return "perp"
    if unit == "us":
        return "spot"  # only Binance spot files use microseconds
    if has_header:
        return "perp"  # spot kline files never have a header row
    return None


def load_binance_klines(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """Binance Vision kline CSV/ZIP (spot, USDT-M, COIN-M) -> ``ohlcv`` Series."""
    raw = _as_raw(path)
    first = head_lines(raw.head, 1)
    if not first:
        raise DataError(f"{raw.name}: file is empty")
    cells = first[0].split(",")
    has_header = not _is_number(cells[0])
    if has_header:
        got = [c.strip() for c in cells]
        if tuple(got[:6]) != KLINE_COLUMNS[:6] or len(got) != len(KLINE_COLUMNS):
            raise DataError(f"{raw.name} row 1: bad header {got}; expected {list(KLINE_COLUMNS)}")
    elif len(cells) != len(KLINE_COLUMNS):
        raise DataError(
            f"{raw.name} row 1: expected {len(KLINE_COLUMNS)} kline columns, got {len(cells)}"
        )
    tab = read_csv(
        raw,
        skip_rows=1 if has_header else 0,
        column_names=KLINE_COLUMNS,
        types={c: "float" for c in KLINE_COLUMNS[1:]} | {"open_time": "int", "close_time": "int"},
    )
    col, lines = tab.numpy, tab.lines  # numpy straight from Arrow: no DataFrame in between
    ts, unit = epoch_to_ns(col("open_time"), raw.name, "open_time", lines)
    m = _VISION_NAME.match(Path(raw.name).name)
    sym_raw = symbol or (m.group("symbol") if m else "")
    sym_norm, sym_market = normalize_symbol(sym_raw) if sym_raw else ("", None)
    mk = pick(market, sym_market, _vision_market(raw.source, sym_raw, has_header, unit))
    mk = require(
        mk,
        "market",
        raw.name,
        "a Binance Vision kline file does not say whether it is spot or USDT-M futures; "
        "pass market='spot' or market='perp' (or keep the data/spot|futures/um path)",
    )
    sym = require(sym_norm, "symbol", raw.name, "pass symbol='BTCUSDT'")
    if m:
        bar = tf_seconds(m.group("tf"))
    else:
        ct, _ = epoch_to_ns(col("close_time"), raw.name, "close_time", lines, unit=unit)
        bar = round(float(np.median(ct - ts + _unit_ns(unit))) / 1e9) if len(ts) else None
    cols: dict[str, np.ndarray] = {
        "open": col("open"),
        "high": col("high"),
        "low": col("low"),
        "close": col("close"),
    }
    if _is_coinm(sym_raw, mk):
        cols["volume"] = col("quote_volume")  # base asset for COIN-M
        cols["contracts"] = col("volume")
        cols["taker_buy_volume"] = col("taker_buy_quote_volume")
    else:
        cols["volume"] = col("volume")
        cols["quote_volume"] = col("quote_volume")
        cols["taker_buy_volume"] = col("taker_buy_volume")
        cols["taker_buy_quote_volume"] = col("taker_buy_quote_volume")
    cols["n_trades"] = col("count")
    meta = {
        "format": "binance_vision_klines",
        "bar_seconds": bar,
        "ts_unit": unit,
        "header": has_header,
        "volume_unit": "base",
    }
    return finish(
        cols,
        ts,
        lines,
        name=raw.name,
        ts_column="open_time",
        kind="ohlcv",
        venue=venue or "binance",
        symbol=sym,
        market=mk,
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
        owned_columns=True,  # each col() call made a new array
    )


def _is_coinm(sym_raw: str, market: str) -> bool:
    """COIN-M (inverse) contracts: BTCUSD_PERP, BTCUSD_240329; not BTCUSDT_240329."""
    head = sym_raw.split("_", 1)[0].upper()
    return market == "inverse_perp" or (head.endswith("USD") and "_" in sym_raw)


def _unit_ns(unit: str) -> int:
    return {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]


def load_binance_funding(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """Binance Vision ``fundingRate`` monthly CSV/ZIP -> ``funding`` Series."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=FUNDING_COLUMNS,
        types={"calc_time": "int", "funding_interval_hours": "float", "last_funding_rate": "str"},
    )
    f, lines = tab.frame, tab.lines
    ts, unit = epoch_to_ns(f["calc_time"], raw.name, "calc_time", lines)
    rs = f["last_funding_rate"].astype("string")
    pct = bool(rs.str.contains("%", regex=False).any())
    rate = to_float(rs, raw.name, "last_funding_rate", lines, percent_sign=pct)
    factor = resolve_rate_unit(
        rate_unit,
        name=raw.name,
        column="last_funding_rate",
        values=rate,
        has_percent_sign=pct,
        format_unit="decimal",
    )
    m = _VISION_FUNDING_NAME.match(Path(raw.name).name)
    sym_raw = symbol or (m.group("symbol") if m else "")
    sym, sym_market = normalize_symbol(sym_raw) if sym_raw else ("", None)
    sym = require(sym, "symbol", raw.name, "pass symbol='BTCUSDT'")
    hours = f["funding_interval_hours"].to_numpy(dtype=np.float64)
    interval = float(pd.Series(hours).mode().iloc[0]) if len(hours) else None
    meta = {"format": "binance_vision_funding", "interval_hours": interval, "ts_unit": unit}
    return finish(
        {"rate": rate * factor, "interval_hours": hours},
        ts,
        lines,
        name=raw.name,
        ts_column="calc_time",
        kind="funding",
        venue=venue or "binance",
        symbol=sym,
        market=pick(market, sym_market, default="perp") or "perp",
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )


def load_binance_funding_web(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    tz: str = "Europe/London",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """Binance web-site funding export -> ``funding`` Series (see module docstring).

    ``Time`` is local time in ``tz`` (Europe/London for the exports seen so far: 00/08/16 in
    winter, 01/09/17 in summer); times that occur twice at the autumn change are resolved to
    the one on the funding grid. If the file also has the derived ``funding_time_utc`` /
    ``funding_rate_decimal`` columns (the shared copies), they are cross-checked.
    """
    raw = _as_raw(path)
    tab = read_csv(raw, expected=WEB_COLUMNS, strings=(*WEB_COLUMNS, "funding_time_utc"))
    f, lines = tab.frame, tab.lines
    name = raw.name
    contracts = f["Contracts"].str.strip()
    uniq = contracts.unique()
    if len(uniq) != 1:
        i = int(np.flatnonzero((contracts != contracts.iloc[0]).to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'Contracts': {contracts.iloc[i]!r} differs from "
            f"{contracts.iloc[0]!r}: one contract per file expected"
        )
    contract = str(uniq[0]) if len(uniq) else ""
    cm = re.match(r"^([A-Z0-9]+)\s+(CM\s+)?Perpetual$", contract)
    if cm:
        inferred_symbol = cm.group(1)
        inferred_market = "inverse_perp" if cm.group(2) else "perp"
    else:
        inferred_symbol, inferred_market = None, None
    ivals = f["Funding Interval"].str.strip().str.lower()
    hours_s = ivals.str.extract(r"^(\d+(?:\.\d+)?)\s*h$")[0]
    if hours_s.isna().any():
        i = int(np.flatnonzero(hours_s.isna().to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'Funding Interval': cannot parse "
            f"{f['Funding Interval'].iloc[i]!r} (expected like '8h')"
        )
    hours = hours_s.astype(float).to_numpy()
    interval = float(pd.Series(hours).mode().iloc[0]) if len(hours) else None
    # time: local -> UTC, DST-aware
    try:
        parsed = pd.to_datetime(f["Time"].str.strip(), format="%Y-%m-%d %H:%M:%S")
    except ValueError:
        probe = pd.to_datetime(f["Time"].str.strip(), format="%Y-%m-%d %H:%M:%S", errors="coerce")
        i = int(np.flatnonzero(probe.isna().to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'Time': cannot parse {f['Time'].iloc[i]!r}"
        ) from None
    utc = localize(parsed, tz, name, "Time", lines, grid_hours=interval)
    ts = utc.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    rs = f["Funding Rate"].str.strip()
    has_pct = rs.str.endswith("%")
    if has_pct.any() and not has_pct.all():
        i = int(np.flatnonzero(~has_pct.to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'Funding Rate': {rs.iloc[i]!r} has no '%' sign but "
            "other rows do (mixed units)"
        )
    rate = to_float(rs, name, "Funding Rate", lines, percent_sign=bool(has_pct.any()))
    factor = resolve_rate_unit(
        rate_unit,
        name=name,
        column="Funding Rate",
        values=rate,
        has_percent_sign=bool(has_pct.any()),
    )
    rate = rate * factor
    if "funding_time_utc" in f.columns:
        derived = pd.to_datetime(f["funding_time_utc"], utc=True, format="ISO8601")
        dv = derived.dt.as_unit("ns").astype("int64").to_numpy()
        bad = np.flatnonzero(dv != ts)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{name} row {lines[i]} column 'funding_time_utc': {f['funding_time_utc'].iloc[i]} "
                f"disagrees with 'Time' {f['Time'].iloc[i]} in {tz} ({fmt_ts(ts[i])})"
            )
    if "funding_rate_decimal" in f.columns:
        dec = to_float(f["funding_rate_decimal"], name, "funding_rate_decimal", lines)
        bad = np.flatnonzero(np.abs(dec - rate) > 1e-12)
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"{name} row {lines[i]} column 'funding_rate_decimal': {dec[i]} disagrees with "
                f"'Funding Rate' {rs.iloc[i]}"
            )
    sym_in = symbol or inferred_symbol
    sym, sym_market = normalize_symbol(sym_in) if sym_in else ("", None)
    sym = require(sym, "symbol", name, "pass symbol='BTCUSDT'")
    meta = {"format": "binance_funding_web", "interval_hours": interval, "source_tz": tz}
    return finish(
        {"rate": rate},
        ts,
        lines,
        name=name,
        ts_column="Time",
        kind="funding",
        venue=venue or "binance",
        symbol=sym,
        market=pick(market, inferred_market, sym_market, default="perp") or "perp",
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )
