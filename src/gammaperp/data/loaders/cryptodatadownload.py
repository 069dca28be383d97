"""CryptoDataDownload (CDD) candle CSVs.

Line 1 is the site URL (``https://www.CryptoDataDownload.com``), line 2 the header, rows are
newest first. Columns seen: ``Unix`` (bar open, ms; older files used seconds and some mix
them, which is rejected naming the row), ``Date`` (UTC), ``Symbol``, ``Open, High, Low,
Close``, and volume columns that depend on the product:

* COIN-M perps (``BTCUSD_PERP``): ``Volume`` (contracts) and ``Volume Base Asset`` (coin);
  ``volume`` = base asset, ``contracts`` = contract count.
* Spot / USDT-M: ``Volume BTC`` and ``Volume USDT`` style columns; ``volume`` = base,
  ``quote_volume`` = quote.

``tradecount`` -> ``n_trades``. The bar length comes from the file name (``_1h_``, ``_hour``,
``_d``/``_day``, ``_minute``) or the median spacing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    GapPolicy,
    Raw,
    epoch_to_ns,
    finish,
    head_lines,
    infer_bar_seconds,
    normalize_symbol,
    parse_shared_name,
    read_csv,
    read_source,
    tf_seconds,
    to_float,
)
from gammaperp.errors import DataError


def is_cdd(head: list[str]) -> bool:
    return bool(head) and "cryptodatadownload" in head[0].lower() and "," not in head[0]


def _bar_from_name(name: str) -> int | None:
    low = name.lower()
    m = re.search(r"_(\d+[smhdw])_", name)
    if m:
        return tf_seconds(m.group(1))
    for token, sec in (
        ("_minute", 60),
        ("_1h", 3600),
        ("_hour", 3600),
        ("_day", 86400),
        ("_d.", 86400),
    ):
        if token in low:
            return sec
    return None


def load_cryptodatadownload(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """CDD hourly/daily/minute candle CSV -> ``ohlcv`` Series (sorted ascending)."""
    raw = path if isinstance(path, Raw) else read_source(path)
    head = head_lines(raw.head, 2)
    skip = 1 if is_cdd(head) else 0
    tab = read_csv(raw, skip_rows=skip, strings=("Date", "date", "Symbol", "symbol"))
    f, lines = tab.frame, tab.lines
    lower = {c.lower().strip(): c for c in f.columns}
    tcol = lower.get("unix") or lower.get("unix timestamp")
    if tcol is None:
        raise DataError(
            f"{raw.name} row {skip + 1}: bad header: no 'Unix' column; found {list(f.columns)}"
        )
    for c in ("open", "high", "low", "close"):
        if c not in lower:
            raise DataError(
                f"{raw.name} row {skip + 1}: bad header: missing column {c!r}; "
                f"found {list(f.columns)}"
            )
    ts, unit = epoch_to_ns(f[tcol], raw.name, tcol, lines)
    info = parse_shared_name(Path(raw.name).name)
    sym_col = lower.get("symbol")
    sym_raw = symbol or (str(f[sym_col].iloc[0]) if sym_col and len(f) else None) or info.symbol
    if not sym_raw:
        raise DataError(f"{raw.name}: cannot infer the symbol; pass symbol=")
    sym, sym_market = normalize_symbol(sym_raw)
    mk = market or info.market or sym_market
    if not mk:
        raise DataError(f"{raw.name}: cannot infer the market of {sym_raw!r}; pass market=")
    name_venue = Path(raw.name).name.split("_", 1)[0].lower()
    vn = venue or info.venue or (name_venue if name_venue.isalpha() else "unknown")

    def num(col: str) -> np.ndarray:
        return to_float(f[col], raw.name, col, lines)

    cols: dict[str, np.ndarray] = {c: num(lower[c]) for c in ("open", "high", "low", "close")}
    base_col = lower.get("volume base asset")
    vol_cols = [c for c in f.columns if c.lower().startswith("volume")]
    if base_col is not None:
        cols["volume"] = num(base_col)
        if "volume" in lower:
            cols["contracts"] = num(lower["volume"])
    else:
        base = sym[:3]
        named = {c.split(" ", 1)[1].upper(): c for c in vol_cols if " " in c}
        bcol = next((c for k, c in named.items() if sym.startswith(k)), None)
        qcol = next((c for k, c in named.items() if not sym.startswith(k)), None)
        if bcol is None and "volume" in lower:
            bcol = lower["volume"]
        if bcol is None:
            raise DataError(
                f"{raw.name} row {skip + 1}: bad header: no base-asset volume column for "
                f"{base}; found {list(f.columns)}"
            )
        cols["volume"] = num(bcol)
        if qcol is not None:
            cols["quote_volume"] = num(qcol)
    if "tradecount" in lower:
        cols["n_trades"] = num(lower["tradecount"])
    bar = _bar_from_name(Path(raw.name).name) or infer_bar_seconds(ts)
    meta = {
        "format": "cryptodatadownload",
        "bar_seconds": bar,
        "ts_unit": unit,
        "volume_unit": "base",
        "source_symbol": sym_raw,
    }
    return finish(
        cols,
        ts,
        lines,
        name=raw.name,
        ts_column=tcol,
        kind="ohlcv",
        venue=vn,
        symbol=sym,
        market=mk,
        source=raw.source,
        meta=meta,
        check=check,
        gap_policy=gap_policy,
    )
