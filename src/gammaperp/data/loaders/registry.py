"""The format registry and the single entry point :func:`load`.

Detection (when ``fmt`` is not given) looks, in this order, at the content's magic bytes
(gzip / zip are unwrapped first; Arrow/Feather and Parquet are binary), the first lines
(header names, the CryptoDataDownload URL line, the ``<µs> {json}`` websocket layout, JSON
shapes) and finally the file name (Binance Vision ``SYMBOL-1m-2024-01.zip``, freqtrade
``BTC_USDT-5m.json``). A file no rule recognises is an error listing the formats.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from gammaperp.data.frames import Series
from gammaperp.data.loaders import (
    binance,
    binance_ws,
    ccxt,
    cryptodatadownload,
    deribit,
    freqtrade,
    generic,
    shared,
    tardis,
)
from gammaperp.data.loaders._common import (
    ARROW_MAGIC,
    HEAD_BYTES,
    PARQUET_MAGIC,
    Raw,
    head_lines,
    read_source,
)
from gammaperp.errors import DataError


class FormatInfo(NamedTuple):
    """One supported format: ``name`` (the ``fmt=`` value), a one-line description and the
    kinds of Series it yields."""

    name: str
    description: str
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class _Format:
    info: FormatInfo
    detect: Callable[[str, list[str], bytes], bool]
    load: Callable[..., Any]
    options: tuple[str, ...]  # keyword options the loader accepts


def _hdr(head: list[str]) -> list[str]:
    return next(csv.reader([head[0]])) if head else []


def _starts(head: list[str], cols: Sequence[str]) -> bool:
    h = [c.strip() for c in _hdr(head)]
    return h[: len(cols)] == list(cols)


def _has(head: list[str], cols: Sequence[str]) -> bool:
    h = {c.strip() for c in _hdr(head)}
    return set(cols) <= h


def _json_kind(data: bytes) -> str | None:
    s = data.lstrip()[:4096]
    if s[:1] not in (b"[", b"{"):
        return None
    if re.match(rb"\[\s*\[", s):
        m = re.match(rb"\[\s*\[([^\]]*)\]", s)
        n = len(m.group(1).split(b",")) if m else 0
        return "rows6" if n == 6 else "rows5" if n == 5 else "rows"
    if b'"fundingRate' in s or b"fundingRate" in s:
        return "ccxt"
    if b'"result"' in s and b'"data"' in s:
        return "deribit"
    return "json"


_VISION_KLINE_NAME = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)?-\d+[smhdwM]-\d{4}-\d{2}(?:-\d{2})?\.")
_WS_LINE = re.compile(r"^\d{13,19} \{")


def _is_vision_kline(name: str, head: list[str], data: bytes) -> bool:
    if _starts(head, ("open_time", "open", "high", "low", "close", "volume")):
        return True
    if head and len(_hdr(head)) == 12 and _VISION_KLINE_NAME.match(name):
        return True
    cells = _hdr(head)
    return len(cells) == 12 and all(re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", c) for c in cells)


_FORMATS: list[_Format] = [
    _Format(
        FormatInfo(
            "binance_ws_raw",
            "Binance futures raw websocket capture, '<µs> {json}' "
            "lines (trade, bookTicker, markPrice, depth, REST snapshot)",
            ("trades", "quotes", "mark", "depth"),
        ),
        lambda n, h, d: bool(h) and bool(_WS_LINE.match(h[0])),
        binance_ws.load_binance_ws,
        ("venue", "symbol", "market", "check"),
    ),
    _Format(
        FormatInfo(
            "freqtrade",
            "freqtrade data file: JSON [[ms,o,h,l,c,v]], Feather or Parquet "
            "candles; -mark / -index / -premiumIndex candles; -funding_rate (rate in "
            "'open')",
            ("ohlcv", "funding"),
        ),
        lambda n, h, d: (
            (d[:6] == ARROW_MAGIC or d[:4] == PARQUET_MAGIC or _json_kind(d) == "rows6")
            and not _is_dvol_name(n)
        ),
        freqtrade.load_freqtrade,
        ("venue", "symbol", "market", "candle_type", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "deribit_dvol",
            "Deribit DVOL history: CSV date,symbol,open,high,low,close "
            "(percent, newest first allowed) or get_volatility_index_data JSON "
            "[[ts,o,h,l,c]]; returned as decimal iv",
            ("iv",),
        ),
        lambda n, h, d: (
            (_json_kind(d) in ("rows5", "deribit"))
            or (_starts(h, ("date", "symbol", "open", "high", "low", "close")) and _is_dvol_name(n))
            or (_is_dvol_name(n) and _has(h, ("open", "high", "low", "close")))
        ),
        deribit.load_deribit_dvol,
        ("symbol", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "ccxt_funding",
            "ccxt fetchFundingRateHistory output (list of dicts with "
            "symbol, fundingRate, timestamp, datetime, info), JSON file or in-memory "
            "list; rate_unit must be declared unless the data show it",
            ("funding",),
        ),
        lambda n, h, d: _json_kind(d) == "ccxt",
        ccxt.load_ccxt_funding,
        ("venue", "symbol", "market", "rate_unit", "interval_hours", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "cryptodatadownload",
            "CryptoDataDownload candle CSV (URL first line, Unix ms, newest first)",
            ("ohlcv",),
        ),
        lambda n, h, d: (
            cryptodatadownload.is_cdd(h) or _starts(h, ("Unix", "Date", "Symbol", "Open"))
        ),
        cryptodatadownload.load_cryptodatadownload,
        ("venue", "symbol", "market", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "tardis",
            "Tardis.dev CSV: trades, derivative_ticker, quotes, "
            "book_snapshot_N, incremental_book_L2, options_chain (µs timestamps)",
            ("trades", "mark", "quotes", "depth", "option_chain"),
        ),
        lambda n, h, d: bool(h) and tardis.detect_data_type(_hdr(h)) is not None,
        tardis.load_tardis,
        ("data_type", "venue", "symbol", "market", "iv_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "deribit_option_chain",
            "Deribit option-chain ticker snapshot CSV "
            "(coin premiums, IV percent -> decimal, greeks dict)",
            ("option_chain",),
        ),
        lambda n, h, d: _has(h, ("instrument_name", "mark_iv", "expiration_timestamp")),
        deribit.load_deribit_option_chain,
        ("symbol", "check"),
    ),
    _Format(
        FormatInfo(
            "binance_funding_web",
            "Binance web-site funding export: Time (Europe/London "
            "local, DST), Contracts, Funding Interval, Funding Rate ('0.01%')",
            ("funding",),
        ),
        lambda n, h, d: _starts(h, binance.WEB_COLUMNS),
        binance.load_binance_funding_web,
        ("venue", "symbol", "market", "rate_unit", "tz", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "binance_vision_funding",
            "Binance Vision fundingRate CSV/ZIP: calc_time, "
            "funding_interval_hours, last_funding_rate",
            ("funding",),
        ),
        lambda n, h, d: _starts(h, binance.FUNDING_COLUMNS) or "-fundingRate-" in n,
        binance.load_binance_funding,
        ("venue", "symbol", "market", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "binance_vision_klines",
            "Binance Vision kline CSV/ZIP (spot, USDT-M, "
            "COIN-M; with or without header; ms or µs open_time)",
            ("ohlcv",),
        ),
        _is_vision_kline,
        binance.load_binance_klines,
        ("venue", "symbol", "market", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "shared_ohlcv",
            "shared/data candle CSV: open_time_ms, open_time_utc, open, high, low, close, volume",
            ("ohlcv",),
        ),
        lambda n, h, d: _has(h, ("open_time_ms", "open", "high", "low", "close", "volume")),
        shared.load_shared_ohlcv,
        ("venue", "symbol", "market", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "funding_history_csv",
            "shared/data funding CSV (README 3a): symbol, "
            "date_source, funding_time_utc, funding_rate (decimal)",
            ("funding",),
        ),
        lambda n, h, d: _starts(h, shared.HISTORY_COLUMNS),
        shared.load_funding_history_csv,
        ("venue", "symbol", "market", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "funding_pct_csv",
            "shared/data funding CSV in percent (README 3d): "
            "funding_time_ms, funding_time_utc, funding_rate_pct",
            ("funding",),
        ),
        lambda n, h, d: _has(h, ("funding_time_ms", "funding_rate_pct")),
        shared.load_funding_pct_csv,
        ("venue", "symbol", "market", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "funding_ft_csv",
            "shared/data freqtrade-derived funding CSV (README 3d): "
            "funding_time_utc, funding_rate (decimal)",
            ("funding",),
        ),
        lambda n, h, d: [c.strip() for c in _hdr(h)] == list(shared.FT_COLUMNS),
        shared.load_funding_ft_csv,
        ("venue", "symbol", "market", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "multi_venue_8h",
            "shared/data 3-venue 8h OHLCV + funding file (README 3c): "
            "time (Europe/London), exchange, crypto, pair, contract, OHLCV, funding rate",
            ("ohlcv", "funding"),
        ),
        lambda n, h, d: _has(h, shared.MULTI_COLUMNS),
        shared.load_multi_venue_8h,
        ("tz", "rate_unit", "check", "gap_policy"),
    ),
    _Format(
        FormatInfo(
            "generic",
            "any CSV/Parquet/Feather table through mapping={'ts': ..., "
            "'close': ...}, ts_unit=, tz=",
            ("ohlcv", "funding", "iv", "trades", "quotes", "mark"),
        ),
        lambda n, h, d: False,
        generic.load_generic,
        (
            "mapping",
            "kind",
            "ts_unit",
            "tz",
            "venue",
            "symbol",
            "market",
            "rate_unit",
            "skip_rows",
            "bar_seconds",
            "interval_hours",
            "check",
            "gap_policy",
        ),
    ),
]


def _is_dvol_name(name: str) -> bool:
    low = name.lower()
    return "dvol" in low or "volatility_index" in low


_BY_NAME = {f.info.name: f for f in _FORMATS}


def formats() -> list[FormatInfo]:
    """Every supported format (name, description, kinds), e.g. for CLI help."""
    return [f.info for f in _FORMATS]


def detect_format(path: str | Path | Raw) -> str:
    """Name of the format of a file (see the module docstring for the rules)."""
    raw = path if isinstance(path, Raw) else read_source(path)
    return _detect(raw)


def _detect(raw: Raw) -> str:
    name = Path(raw.name).name
    # The rules look at magic bytes, the first lines (head_lines reads 64 KiB) and 4 KiB
    # after any leading white space: the head does, so a large file need not be read here.
    head_bytes = raw.head
    enough = len(head_bytes.lstrip()) >= 4096 or len(head_bytes) < HEAD_BYTES
    sample = head_bytes if enough else raw.data
    binary = sample[:6] == ARROW_MAGIC or sample[:4] == PARQUET_MAGIC
    head = [] if binary else head_lines(sample, 3)
    for f in _FORMATS:
        try:
            if f.detect(name, head, sample):
                return f.info.name
        except (ValueError, StopIteration):
            continue
    first = head[0][:100] if head else repr(sample[:16])
    raise DataError(
        f"{raw.name} row 1: unrecognised format (first line {first!r}); pass fmt= one of "
        f"{', '.join(_BY_NAME)} (generic needs mapping=)"
    )


def load(
    path: str | Path | Sequence[dict[str, Any]],
    *,
    kind: str | None = None,
    fmt: str | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    rate_unit: str = "auto",
    gap_policy: str = "warn",
    check: bool = True,
    **options: Any,
) -> Series | list[Series]:
    """Load any supported file (``.gz``/``.zip`` transparently) into canonical Series.

    ``fmt``: a name from :func:`formats` (detected when omitted). ``venue``, ``symbol``,
    ``market`` override what the file name/content says. ``rate_unit``: "decimal",
    "percent" or "auto" (evidence only, see docs/data-formats.md). ``gap_policy``: "warn",
    "fail", "split" (returns the segments) or "ffill" (adds a boolean ``synthetic`` column).
    ``check=False`` skips the load-time validation. Other keyword ``options`` go to the
    format's loader (``mapping``, ``ts_unit``, ``tz``, ``iv_unit``, ``data_type``...).

    Returns one Series, or a list when the file holds several series (the 3-venue 8h file,
    a websocket capture, multi-symbol Tardis files, or ``gap_policy="split"``); ``kind=``
    filters such lists (and is checked against a single result).
    """
    if not isinstance(path, str | Path):
        rows = list(path)
        fmt = fmt or "ccxt_funding"
        if fmt != "ccxt_funding":
            raise DataError("load: in-memory input is only supported for fmt='ccxt_funding'")
        res: Any = ccxt.load_ccxt_funding(
            rows,
            venue=venue,
            symbol=symbol,
            market=market,
            rate_unit=rate_unit,
            check=check,
            gap_policy=gap_policy,  # type: ignore[arg-type]
            **options,
        )
        return _filter(res, kind, "<ccxt funding list>")
    raw = read_source(path)
    if fmt is None:
        fmt = "generic" if "mapping" in options else _detect(raw)
    if fmt not in _BY_NAME:
        raise DataError(f"load: unknown fmt {fmt!r}; one of {', '.join(_BY_NAME)}")
    spec = _BY_NAME[fmt]
    given = {
        "venue": venue,
        "symbol": symbol,
        "market": market,
        "rate_unit": rate_unit,
        "gap_policy": gap_policy,
        "check": check,
    }
    kwargs: dict[str, Any] = {}
    for k, v in given.items():
        if k in spec.options:
            kwargs[k] = v
        elif v is not None and k in ("venue", "symbol", "market"):
            raise DataError(f"load: format {fmt!r} does not take {k}=")
    if fmt == "generic" and kind is not None:
        kwargs["kind"] = kind
    for k, v in options.items():
        if k not in spec.options:
            raise DataError(
                f"load: format {fmt!r} does not take option {k}=; it takes "
                f"{', '.join(spec.options)}"
            )
        kwargs[k] = v
    if fmt == "generic" and "mapping" not in kwargs:
        raise DataError("load: fmt='generic' needs mapping={'ts': ..., 'close': ...}")
    res = spec.load(raw, **kwargs)
    if isinstance(res, dict):
        res = list(res.values())
    return _filter(res, kind, raw.name)


def _filter(res: Series | list[Series], kind: str | None, name: str) -> Series | list[Series]:
    if kind is None:
        return res
    if isinstance(res, Series):
        if res.kind != kind:
            raise DataError(f"{name}: holds a {res.kind!r} series, not kind={kind!r}")
        return res
    out = [s for s in res if s.kind == kind]
    if not out:
        kinds = sorted({s.kind for s in res})
        raise DataError(f"{name}: holds no {kind!r} series (it has {kinds})")
    return out


def describe_formats() -> str:
    """Plain-text table of :func:`formats` (for ``--help``)."""
    width = max(len(f.name) for f in formats())
    return "\n".join(f"{f.name.ljust(width)}  {f.description}" for f in formats())
