"""freqtrade data directories: ``user_data/data/<exchange>/[futures/]<PAIR>-<tf>[-<type>].<ext>``.

* Pair spelling: ``BTC_USDT`` (spot), ``BTC_USDT_USDT`` (USDT-settled perp),
  ``BTC_USD_BTC`` (coin-settled, inverse perp).
* ``<type>``: none or ``futures`` (trade candles), ``mark`` (mark-price candles),
  ``index``, ``premiumIndex`` and ``funding_rate`` (the rate per interval, decimal, stored in
  the ``open`` column; ``high/low/close/volume`` are 0).
* ``<ext>``: ``json`` / ``json.gz`` / ``jsongz`` (``[[ms, o, h, l, c, v], ...]``), ``feather``
  or ``parquet`` (``date`` UTC datetime, ``open, high, low, close, volume``).

The exchange comes from the parent directory when it is a known exchange id, else
``venue=`` (default "unknown"). Mark/index/premium candles are ``ohlcv`` Series with
``meta["price_type"]`` set to "mark", "index" or "premium_index". Rows in messages are the
1-based candle number for JSON and Feather/Parquet input.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    ARROW_MAGIC,
    PARQUET_MAGIC,
    GapPolicy,
    Raw,
    epoch_to_ns,
    finish,
    infer_bar_seconds,
    infer_interval_hours,
    read_source,
    resolve_rate_unit,
    tf_seconds,
)
from gammaperp.errors import DataError

NAME_RE = re.compile(
    r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_(?P<settle>[A-Z0-9]+))?"
    r"-(?P<tf>\d+[smhdwM])(?:-(?P<ctype>futures|mark|index|premiumIndex|funding_rate|spot))?"
    r"\.(?P<ext>json|json\.gz|jsongz|feather|parquet)$"
)

KNOWN_EXCHANGES = {
    "binance": "binance",
    "binanceus": "binanceus",
    "binanceusdm": "binance",
    "binancecoinm": "binance",
    "bybit": "bybit",
    "okx": "okx",
    "okex": "okx",
    "gate": "gate",
    "gateio": "gate",
    "kucoin": "kucoin",
    "kucoinfutures": "kucoin",
    "kraken": "kraken",
    "krakenfutures": "kraken",
    "bitget": "bitget",
    "bitmex": "bitmex",
    "deribit": "deribit",
    "htx": "htx",
    "huobi": "htx",
    "mexc": "mexc",
    "ftx": "ftx",
    "bitfinex": "bitfinex",
    "coinbase": "coinbase",
    "bitstamp": "bitstamp",
    "bingx": "bingx",
    "hyperliquid": "hyperliquid",
    "dydx": "dydx",
    "bitmart": "bitmart",
    "hitbtc": "hitbtc",
    "gemini": "gemini",
    "cryptocom": "cryptocom",
    "woo": "woo",
    "phemex": "phemex",
}

_PRICE_TYPE = {"mark": "mark", "index": "index", "premiumIndex": "premium_index"}


def _venue_from_path(source: str) -> str | None:
    parts = [p.lower() for p in Path(source).parts[:-1]]
    for p in reversed(parts):
        if p == "futures":
            continue
        return KNOWN_EXCHANGES.get(p)
    return None


def _read_candles(raw: Raw) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Returns (ts column values, ohlcv float matrix, row numbers, timestamp column name)."""
    data = raw.data
    if data[:6] == ARROW_MAGIC or data[:4] == PARQUET_MAGIC:
        try:
            if data[:4] == PARQUET_MAGIC:
                table = pq.read_table(io.BytesIO(data))
            else:
                table = feather.read_table(pa.BufferReader(data))
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(
                f"{raw.name}: corrupt or truncated feather/parquet file ({exc})"
            ) from None
        frame = table.to_pandas()
        need = ["date", "open", "high", "low", "close", "volume"]
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise DataError(
                f"{raw.name}: bad header: missing column(s) {missing}; found {list(frame.columns)}"
            )
        d = frame["date"]
        rows = np.arange(1, len(frame) + 1, dtype=np.int64)
        if pd.api.types.is_datetime64_any_dtype(d):
            if getattr(d.dt, "tz", None) is None:
                raise DataError(
                    f"{raw.name} row 1 column 'date': naive datetimes; freqtrade writes UTC, "
                    "this file has no time zone"
                )
            ts = d.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
            if d.isna().any():
                i = int(np.flatnonzero(d.isna().to_numpy())[0])
                raise DataError(f"{raw.name} row {i + 1} column 'date': missing timestamp")
            tcol = "date"
        else:
            ts, _ = epoch_to_ns(d, raw.name, "date", rows)
            tcol = "date"
        vals = frame[need[1:]].to_numpy(dtype=np.float64)
        return ts, vals, rows, tcol
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise DataError(f"{raw.name}: invalid JSON ({exc})") from None
    if not isinstance(obj, list):
        raise DataError(f"{raw.name}: expected a JSON list of [ms, o, h, l, c, v] rows")
    for k, r in enumerate(obj):
        if not isinstance(r, list) or len(r) != 6:
            raise DataError(
                f"{raw.name} row {k + 1}: expected [ms, open, high, low, close, volume], got {r!r}"
            )
    rows = np.arange(1, len(obj) + 1, dtype=np.int64)
    try:
        arr = np.array(obj, dtype=np.float64) if obj else np.zeros((0, 6))
    except (TypeError, ValueError):
        for k, r in enumerate(obj):
            for j, v in enumerate(r):
                try:
                    float(v)
                except (TypeError, ValueError):
                    col = ["date", "open", "high", "low", "close", "volume"][j]
                    raise DataError(
                        f"{raw.name} row {k + 1} column {col!r}: invalid value {v!r}"
                    ) from None
        raise
    ts_vals = np.array([r[0] for r in obj], dtype=object)
    if all(isinstance(v, int) for v in ts_vals):
        ts_vals = ts_vals.astype(np.int64)
    else:
        ts_vals = arr[:, 0]
    ts, _ = epoch_to_ns(ts_vals, raw.name, "date", rows)
    return ts, arr[:, 1:], rows, "date"


def load_freqtrade(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    candle_type: str | None = None,
    rate_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """One freqtrade data file -> ``ohlcv`` or (``funding_rate`` files) ``funding``."""
    raw = path if isinstance(path, Raw) else read_source(path)
    m = NAME_RE.match(Path(raw.name).name)
    base = quote = settle = tf = None
    ctype = candle_type
    if m:
        base, quote, settle, tf = (
            m.group("base"),
            m.group("quote"),
            m.group("settle"),
            m.group("tf"),
        )
        ctype = ctype or m.group("ctype")
    ts, vals, rows, tcol = _read_candles(raw)
    if symbol:
        sym = symbol.upper().replace("/", "").replace("_", "").replace("-", "")
    elif base and quote:
        sym = base + quote
    else:
        raise DataError(
            f"{raw.name}: cannot infer the symbol from a name that is not "
            "'BASE_QUOTE[_SETTLE]-tf[-type].ext'; pass symbol="
        )
    if market:
        mk = market
    elif settle:
        mk = "inverse_perp" if settle == base else "perp"
    elif ctype in ("futures", "mark", "index", "premiumIndex", "funding_rate"):
        mk = "perp"
    else:
        mk = "spot"
    vn = venue or _venue_from_path(raw.source) or "unknown"
    common = {
        "name": raw.name,
        "ts_column": tcol,
        "venue": vn,
        "symbol": sym,
        "market": mk,
        "source": raw.source,
        "check": check,
        "gap_policy": gap_policy,
    }
    if ctype == "funding_rate":
        factor = resolve_rate_unit(
            rate_unit, name=raw.name, column="open", values=vals[:, 0], format_unit="decimal"
        )
        hours = infer_interval_hours(ts) or (tf_seconds(tf) / 3600 if tf else None)
        meta = {"format": "freqtrade", "interval_hours": hours, "candle_type": ctype}
        return finish({"rate": vals[:, 0] * factor}, ts, rows, kind="funding", meta=meta, **common)
    bar = tf_seconds(tf) if tf else infer_bar_seconds(ts)
    meta = {
        "format": "freqtrade",
        "bar_seconds": bar,
        "candle_type": ctype or "spot",
        "volume_unit": "base",
    }
    if ctype in _PRICE_TYPE:
        meta["price_type"] = _PRICE_TYPE[ctype]
    cols = {c: vals[:, k] for k, c in enumerate(("open", "high", "low", "close", "volume"))}
    return finish(cols, ts, rows, kind="ohlcv", meta=meta, **common)
