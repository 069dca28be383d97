"""Funding history in the shape ccxt's ``fetchFundingRateHistory`` returns.

Input: a list of dicts ``{"symbol": "BTC/USDT:USDT", "fundingRate": 0.0001,
"timestamp": 1700000000000, "datetime": "2023-11-14T22:13:20.000Z", "info": {...}}``, either
in memory or as a JSON file (optionally gzipped; a top-level ``{"data": [...]}`` wrapper is
accepted). ``timestamp`` (ms) is used, else ``datetime`` (ISO-8601 with ``Z``).

Units: ``rate_unit="decimal" | "percent" | "auto"``. Under ``"auto"`` the unit is taken only
from evidence in the data: rate strings carrying a ``%`` sign, or a rate key named with
``pct``/``percent`` (e.g. ``fundingRatePct``). Plain numbers are ambiguous (people store
percent too), so ``"auto"`` then raises and asks for ``rate_unit``; ccxt's own unified
convention is decimal, so pass ``rate_unit="decimal"`` for untouched ccxt output.

Rows in messages are the 1-based entry number in the list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    GapPolicy,
    Raw,
    display_name,
    epoch_to_ns,
    finish,
    infer_interval_hours,
    normalize_symbol,
    read_source,
    resolve_rate_unit,
    strings_to_ns,
    to_float,
)
from gammaperp.errors import DataError

_RATE_KEY = re.compile(r"funding.?rate", re.IGNORECASE)


def _venue_from_info(info: Any) -> str | None:
    """Only unmistakable raw-response shapes; otherwise None (then 'unknown')."""
    if not isinstance(info, dict):
        return None
    if "instId" in info and "fundingRate" in info:
        return "okx"
    if "fundingRateTimestamp" in info:
        return "bybit"
    if "fundingTime" in info and "markPrice" in info and "fundingRate" in info:
        return "binance"
    return None


def load_ccxt_funding(
    src: str | Path | Raw | Sequence[dict[str, Any]],
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    interval_hours: float | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """ccxt funding-rate history (list of dicts, or a JSON file of it) -> ``funding``."""
    if isinstance(src, str | Path | Raw):
        raw = src if isinstance(src, Raw) else read_source(src)
        name, source = raw.name, raw.source
        try:
            rows = json.loads(raw.data)
        except ValueError as exc:
            raise DataError(f"{name}: invalid JSON ({exc})") from None
        if isinstance(rows, dict):
            rows = rows.get("data") or rows.get("result") or []
    else:
        rows = list(src)
        name, source = "<ccxt funding list>", ""
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{name}: expected a non-empty list of funding-rate dicts")
    lines = np.arange(1, len(rows) + 1, dtype=np.int64)
    for k, r in enumerate(rows):
        if not isinstance(r, dict):
            raise DataError(f"{name} row {k + 1}: expected a dict, got {type(r).__name__}")
    keys = [k for k in rows[0] if _RATE_KEY.search(k) and k != "info"]
    if not keys:
        raise DataError(
            f"{name} row 1: no funding-rate key (expected 'fundingRate'): {list(rows[0])}"
        )
    rate_key = "fundingRate" if "fundingRate" in keys else keys[0]
    raw_rates = [r.get(rate_key) for r in rows]
    pct_sign = [isinstance(v, str) and v.strip().endswith("%") for v in raw_rates]
    if any(pct_sign) and not all(pct_sign):
        i = pct_sign.index(False)
        raise DataError(
            f"{name} row {i + 1} column {rate_key!r}: {raw_rates[i]!r} has no '%' sign but other "
            "rows do (mixed units)"
        )
    rates = to_float(
        np.array([np.nan if v is None else v for v in raw_rates], dtype=object),
        name,
        rate_key,
        lines,
        percent_sign=any(pct_sign),
    )
    factor = resolve_rate_unit(
        rate_unit, name=name, column=rate_key, values=rates, has_percent_sign=any(pct_sign)
    )
    if all(r.get("timestamp") is not None for r in rows):
        ts, _ = epoch_to_ns(
            np.array([r["timestamp"] for r in rows], dtype=np.float64),
            name,
            "timestamp",
            lines,
            unit="ms",
        )
    else:
        missing = [
            k for k, r in enumerate(rows) if not r.get("timestamp") and not r.get("datetime")
        ]
        if missing:
            raise DataError(
                f"{name} row {missing[0] + 1} column 'timestamp': missing timestamp and datetime"
            )
        ts = strings_to_ns([r.get("datetime") for r in rows], name, "datetime", lines)
    syms = [r.get("symbol") for r in rows]
    if symbol is None:
        distinct = {s for s in syms if s}
        if len(distinct) > 1:
            i = next(k for k, s in enumerate(syms) if s != syms[0])
            raise DataError(
                f"{name} row {i + 1} column 'symbol': {syms[i]!r} differs from {syms[0]!r}; "
                "one symbol per series (filter the list or pass symbol=)"
            )
        if not distinct:
            raise DataError(f"{name}: no 'symbol' in the entries; pass symbol=")
        symbol = next(iter(distinct))
    sym, sym_market = normalize_symbol(symbol)
    hours = interval_hours or infer_interval_hours(ts)
    meta = {
        "format": "ccxt_funding",
        "interval_hours": hours,
        "rate_unit": "percent" if factor == 0.01 else "decimal",
        "source_symbol": symbol,
    }
    return finish(
        {"rate": rates * factor},
        ts,
        lines,
        name=display_name(name) if source else name,
        ts_column="timestamp",
        kind="funding",
        venue=venue or _venue_from_info(rows[0].get("info")) or "unknown",
        symbol=sym,
        market=market or sym_market or "perp",
        source=source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )
