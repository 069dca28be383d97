"""Deribit: DVOL volatility-index history and option-chain ticker snapshots.

DVOL (``kind="iv"``, market "index", symbol "BTC"/"ETH"): the index is quoted in percent
(annualised 30-day implied volatility) and is returned as a decimal: ``iv`` = close / 100,
``iv_open``, ``iv_high``, ``iv_low`` likewise.

* CSV ``date, symbol, open, high, low, close`` (``date`` is a UTC day; rows may be newest
  first, they are sorted ascending). A ``timestamp`` (ms) column is used instead when present.
* API JSON (``public/get_volatility_index_data``): ``{"result": {"data": [[ts, o, h, l, c],
  ...]}}`` or the bare ``[[ts, o, h, l, c], ...]`` list; ``ts`` in ms. The symbol comes from
  ``symbol=`` or a ``btc``/``eth`` token in the file name.

Option-chain snapshots (``kind="option_chain"``, ``meta["premium_unit"]="coin"``): one row
per listed option with the Deribit API v2 ticker fields. Prices (``mark_price``,
``bid_price``, ``ask_price``, ``last_price``) are in BTC (coin); ``strike``,
``underlying_price`` and ``index_price`` in USD; ``mark_iv``, ``bid_iv``, ``ask_iv`` are
percent in the source and decimals here. A bid/ask price of 0 with amount 0 means "no quote"
and becomes NaN; an IV of 0 means "not computed" and becomes NaN. ``greeks`` (a Python dict
string, parsed with ``ast.literal_eval``) gives ``delta`` (Black-Scholes delta),
``gamma`` (per USD), ``vega`` (USD per vol point), ``theta`` (USD per day) and ``rho``, as
Deribit publishes them. The index is each row's own ``timestamp`` (the instruments were
polled one after the other); rows are sorted by it.
"""

from __future__ import annotations

import ast
import json
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
    infer_bar_seconds,
    read_csv,
    read_source,
    strings_to_ns,
    to_float,
)
from gammaperp.errors import DataError

CHAIN_REQUIRED = (
    "instrument_name",
    "expiration_timestamp",
    "option_type",
    "strike",
    "timestamp",
    "mark_price",
    "mark_iv",
)


def _as_raw(src: str | Path | Raw) -> Raw:
    return src if isinstance(src, Raw) else read_source(src)


def _symbol_from_name(name: str) -> str | None:
    m = re.search(r"(?:^|[_\-.])(btc|eth|sol|xrp|bnb|ada|doge|avax)(?:[_\-.]|$)", name.lower())
    return m.group(1).upper() if m else None


def _dvol_series(
    raw_name: str,
    source: str,
    ts: np.ndarray,
    ohlc: np.ndarray,
    lines: np.ndarray,
    ts_column: str,
    symbol: str,
    fmt: str,
    check: bool,
    gap_policy: GapPolicy,
) -> Series | list[Series]:
    o, h, lo, c = (ohlc[:, k] / 100.0 for k in range(4))
    bar = infer_bar_seconds(ts)
    meta = {"format": fmt, "bar_seconds": bar, "source_unit": "percent", "index": "DVOL"}
    return finish(
        {"iv": c, "iv_open": o, "iv_high": h, "iv_low": lo},
        ts,
        lines,
        name=raw_name,
        ts_column=ts_column,
        kind="iv",
        venue="deribit",
        symbol=symbol,
        market="index",
        source=source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )


def load_deribit_dvol(
    path: str | Path | Raw,
    *,
    symbol: str | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """DVOL history, CSV or API JSON -> ``iv`` Series (decimal)."""
    raw = _as_raw(path)
    stripped = raw.data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            obj = json.loads(raw.data)
        except ValueError as exc:
            raise DataError(f"{raw.name}: invalid JSON ({exc})") from None
        rows = obj
        if isinstance(obj, dict):
            rows = (obj.get("result") or {}).get("data") if "result" in obj else obj.get("data")
        if not isinstance(rows, list):
            raise DataError(f"{raw.name}: expected result.data = [[ts, o, h, l, c], ...]")
        for k, r in enumerate(rows):
            if not isinstance(r, list) or len(r) != 5:
                raise DataError(
                    f"{raw.name} row {k + 1}: expected [ts, open, high, low, close], got {r!r}"
                )
        lines = np.arange(1, len(rows) + 1, dtype=np.int64)
        arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
        ts, _ = epoch_to_ns(arr[:, 0], raw.name, "ts", lines)
        sym = symbol or _symbol_from_name(raw.name)
        if not sym:
            raise DataError(f"{raw.name}: cannot infer the currency (BTC/ETH); pass symbol=")
        return _dvol_series(
            raw.name,
            raw.source,
            ts,
            arr[:, 1:],
            lines,
            "ts",
            sym.upper(),
            "deribit_dvol_json",
            check,
            gap_policy,
        )
    tab = read_csv(
        raw,
        expected=("open", "high", "low", "close"),
        types={c: "float" for c in ("open", "high", "low", "close")},
        strings=("date", "symbol"),
    )
    f, lines = tab.frame, tab.lines
    if "timestamp" in f.columns:
        ts, _ = epoch_to_ns(f["timestamp"], raw.name, "timestamp", lines)
        tcol = "timestamp"
    elif "date" in f.columns:
        ts = strings_to_ns(f["date"], raw.name, "date", lines, tz="UTC")
        tcol = "date"
    else:
        raise DataError(f"{raw.name} row 1: bad header: no 'date' or 'timestamp' column")
    sym = symbol
    if not sym and "symbol" in f.columns and len(f):
        vals = f["symbol"].str.strip().str.upper()
        if (vals != vals.iloc[0]).any():
            i = int(np.flatnonzero((vals != vals.iloc[0]).to_numpy())[0])
            raise DataError(
                f"{raw.name} row {lines[i]} column 'symbol': {vals.iloc[i]!r} differs from "
                f"{vals.iloc[0]!r}: one currency per file expected"
            )
        sym = vals.iloc[0]
    sym = sym or _symbol_from_name(raw.name)
    if not sym:
        raise DataError(f"{raw.name}: cannot infer the currency (BTC/ETH); pass symbol=")
    ohlc = f[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
    return _dvol_series(
        raw.name,
        raw.source,
        ts,
        ohlc,
        lines,
        tcol,
        sym.upper(),
        "deribit_dvol_csv",
        check,
        gap_policy,
    )


def _parse_dicts(values: pd.Series, name: str, column: str, lines: np.ndarray) -> list[dict]:
    out = []
    for k, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
            out.append({})
            continue
        try:
            d = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            raise DataError(
                f"{name} row {lines[k]} column {column!r}: cannot parse {v!r}"
            ) from None
        if not isinstance(d, dict):
            raise DataError(f"{name} row {lines[k]} column {column!r}: expected a dict, got {v!r}")
        out.append(d)
    return out


def load_deribit_option_chain(
    path: str | Path | Raw,
    *,
    symbol: str | None = None,
    check: bool = True,
) -> Series | list[Series]:
    """Deribit ticker snapshot of a whole option chain -> ``option_chain`` Series."""
    raw = _as_raw(path)
    tab = read_csv(
        raw,
        expected=CHAIN_REQUIRED,
        strings=(
            "instrument_name",
            "option_type",
            "greeks",
            "stats",
            "bids",
            "asks",
            "underlying_index",
            "state",
        ),
    )
    f, lines = tab.frame, tab.lines
    name = raw.name
    ts, _ = epoch_to_ns(f["timestamp"], name, "timestamp", lines, unit="ms")
    exp_ns, _ = epoch_to_ns(
        f["expiration_timestamp"], name, "expiration_timestamp", lines, unit="ms"
    )
    otype = f["option_type"].str.strip().str.lower()
    bad = ~otype.isin(["call", "put"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{name} row {lines[i]} column 'option_type': {f['option_type'].iloc[i]!r} is not "
            "'call' or 'put'"
        )

    def num(col: str) -> np.ndarray:
        if col not in f.columns:
            return np.full(len(f), np.nan)
        return to_float(f[col], name, col, lines)

    def quote(price_col: str, amount_col: str) -> np.ndarray:
        p, a = num(price_col), num(amount_col)
        return np.where((p == 0) & ~(a > 0), np.nan, p)

    def iv(col: str) -> np.ndarray:
        v = num(col)
        return np.where(v == 0, np.nan, v / 100.0)

    greeks = _parse_dicts(f["greeks"], name, "greeks", lines) if "greeks" in f.columns else []
    cols: dict[str, object] = {
        "instrument": f["instrument_name"].str.strip().to_numpy(),
        "expiry": pd.to_datetime(exp_ns, unit="ns", utc=True),
        "strike": num("strike"),
        "option_type": otype.to_numpy(),
        "underlying_price": num("underlying_price"),
        "index_price": num("index_price"),
        "mark_price": num("mark_price"),
        "bid_price": quote("best_bid_price", "best_bid_amount"),
        "ask_price": quote("best_ask_price", "best_ask_amount"),
        "bid_qty": num("best_bid_amount"),
        "ask_qty": num("best_ask_amount"),
        "mark_iv": iv("mark_iv"),
        "bid_iv": iv("bid_iv"),
        "ask_iv": iv("ask_iv"),
    }
    for g in ("delta", "gamma", "vega", "theta", "rho"):
        cols[g] = (
            np.array(
                [d.get(g, np.nan) if d.get(g) is not None else np.nan for d in greeks],
                dtype=np.float64,
            )
            if greeks
            else np.full(len(f), np.nan)
        )
    cols["open_interest"] = num("open_interest")
    cols["last_price"] = num("last_price")
    cols["interest_rate"] = num("interest_rate")
    if "underlying_index" in f.columns:
        cols["underlying_index"] = f["underlying_index"].to_numpy()
    sym = symbol
    if not sym and len(f):
        heads = f["instrument_name"].str.split("-").str[0].str.upper()
        sym = str(heads.mode().iloc[0])
    meta = {
        "format": "deribit_option_chain",
        "premium_unit": "coin",
        "iv_source_unit": "percent",
        "greeks": "deribit: delta BS, gamma per USD, vega USD per vol point, theta USD per day",
        "snapshot_start": str(pd.Timestamp(int(ts.min()), tz="UTC")) if len(ts) else None,
        "snapshot_end": str(pd.Timestamp(int(ts.max()), tz="UTC")) if len(ts) else None,
    }
    return finish(
        cols,
        ts,
        lines,
        name=name,
        ts_column="timestamp",
        kind="option_chain",
        venue="deribit",
        symbol=sym or "BTC",
        market="option",
        source=raw.source,
        meta=meta,
        sort="stable",
        check=check,
        keep_columns=("instrument", "expiry", "option_type", "underlying_index"),
    )
