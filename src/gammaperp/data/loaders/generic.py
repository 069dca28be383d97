"""Any CSV / Parquet / Feather table, given a column mapping.

``mapping`` maps canonical column names to the file's column names and must contain ``ts``:
``{"ts": "Date", "open": "Open", "high": "High", "low": "Low", "close": "Close",
"volume": "Volume"}``. Unmapped canonical columns are absent; for ``kind="funding"`` map
``rate``.

Timestamps: numeric columns are epoch numbers in ``ts_unit`` ("s", "ms", "us", "ns"; detected
per file by magnitude when omitted, mixed units rejected); strings and datetimes with an
offset are converted to UTC; naive ones need ``tz=`` (e.g. "UTC", "Europe/London") and are
never assumed to be UTC. Rows may be ascending or newest-first.

Funding rates: ``rate_unit`` as everywhere: "auto" uses only evidence in the file (a ``%``
sign, a source column named with pct/percent), otherwise it raises asking for the unit.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from gammaperp.data.frames import REQUIRED_COLUMNS, Series
from gammaperp.data.loaders._common import (
    ARROW_MAGIC,
    PARQUET_MAGIC,
    GapPolicy,
    Raw,
    epoch_to_ns,
    finish,
    infer_bar_seconds,
    infer_interval_hours,
    localize,
    normalize_symbol,
    parse_shared_name,
    read_csv,
    read_source,
    resolve_rate_unit,
    strings_to_ns,
    to_float,
)
from gammaperp.errors import DataError

_STRING_COLUMNS = {"instrument", "option_type", "underlying_index"}


def load_generic(
    path: str | Path | Raw,
    mapping: Mapping[str, str],
    *,
    kind: str = "ohlcv",
    ts_unit: str | None = None,
    tz: str | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    skip_rows: int = 0,
    bar_seconds: float | None = None,
    interval_hours: float | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """Load a table through a column mapping (see the module docstring)."""
    if "ts" not in mapping:
        raise DataError("load_generic: mapping must contain 'ts' (the timestamp column)")
    if kind not in REQUIRED_COLUMNS:
        raise DataError(f"load_generic: unknown kind {kind!r}; one of {sorted(REQUIRED_COLUMNS)}")
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in mapping]
    if missing:
        raise DataError(f"load_generic: kind {kind!r} needs mapping entries for {missing}")
    raw = path if isinstance(path, Raw) else read_source(path)
    name = raw.name
    if raw.data[:4] == PARQUET_MAGIC or raw.data[:6] == ARROW_MAGIC:
        try:
            table = (
                pq.read_table(io.BytesIO(raw.data))
                if raw.data[:4] == PARQUET_MAGIC
                else feather.read_table(pa.BufferReader(raw.data))
            )
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{name}: corrupt or truncated parquet/feather file ({exc})") from None
        f = table.to_pandas()
        if isinstance(f.index, pd.DatetimeIndex) and mapping["ts"] not in f.columns:
            f = f.reset_index()
        lines = np.arange(1, len(f) + 1, dtype=np.int64)
        header_row = 0
    else:
        src_cols = [v for k, v in mapping.items() if k in _STRING_COLUMNS or k == "ts"]
        tab = read_csv(
            raw,
            skip_rows=skip_rows,
            expected=list(mapping.values()),
            strings=[c for c in src_cols if c != mapping["ts"]],
        )
        f, lines = tab.frame, tab.lines
        header_row = skip_rows + 1
    absent = [v for v in mapping.values() if v not in f.columns]
    if absent:
        raise DataError(
            f"{name} row {header_row}: bad header: missing column(s) {absent}; "
            f"found {list(f.columns)}"
        )
    tcol = mapping["ts"]
    t = f[tcol]
    if pd.api.types.is_datetime64_any_dtype(t):
        if getattr(t.dt, "tz", None) is None:
            if tz is None:
                raise DataError(
                    f"{name} row {lines[0] if len(lines) else 1} column {tcol!r}: naive "
                    "datetimes; declare their zone with tz= (e.g. tz='UTC')"
                )
            t = localize(t, tz, name, tcol, lines)
        ts = t.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
        unit = None
    elif pd.api.types.is_numeric_dtype(t):
        ts, unit = epoch_to_ns(t, name, tcol, lines, unit=ts_unit)
    else:
        ts = strings_to_ns(t, name, tcol, lines, tz=tz)
        unit = None
    cols: dict[str, Any] = {}
    factor = 1.0
    for canon, src in mapping.items():
        if canon == "ts":
            continue
        if canon in _STRING_COLUMNS:
            cols[canon] = f[src].astype(str).to_numpy()
            continue
        v = f[src]
        pct = False
        if canon == "rate" and not pd.api.types.is_numeric_dtype(v):
            st = v.astype("string").str.strip()
            has = st.str.endswith("%").fillna(False)
            if has.any() and not has.all():
                i = int(np.flatnonzero(~has.to_numpy())[0])
                raise DataError(
                    f"{name} row {lines[i]} column {src!r}: {st.iloc[i]!r} has no '%' sign but "
                    "other rows do (mixed units)"
                )
            pct = bool(has.any())
        arr = to_float(v, name, src, lines, percent_sign=pct)
        if canon == "rate":
            factor = resolve_rate_unit(
                rate_unit, name=name, column=src, values=arr, has_percent_sign=pct
            )
            arr = arr * factor
        cols[canon] = arr
    info = parse_shared_name(Path(name).name)
    sym_in = symbol or info.symbol
    if not sym_in:
        raise DataError(f"{name}: cannot infer the symbol from the file name; pass symbol=")
    sym, sym_market = normalize_symbol(sym_in)
    mk = market or info.market or sym_market
    if not mk:
        raise DataError(
            f"{name}: cannot infer the market (spot, perp, inverse_perp, ...); pass market="
        )
    meta: dict[str, Any] = {"format": "generic", "mapping": dict(mapping)}
    if unit:
        meta["ts_unit"] = unit
    if kind in ("ohlcv", "iv"):
        meta["bar_seconds"] = bar_seconds or infer_bar_seconds(ts)
    if kind == "funding":
        meta["interval_hours"] = interval_hours or infer_interval_hours(ts)
        meta["rate_unit"] = "percent" if factor == 0.01 else "decimal"
    keep = tuple(c for c in cols if c in _STRING_COLUMNS)
    return finish(
        cols,
        ts,
        lines,
        name=name,
        ts_column=tcol,
        kind=kind,
        venue=venue or info.venue or "unknown",
        symbol=sym,
        market=mk,
        source=raw.source,
        meta=meta,
        sort="stable" if kind == "option_chain" else "strict",
        check=check,
        gap_policy=gap_policy,
        keep_columns=keep,
    )
