"""Download OHLCV, mark/index candles and funding history through ccxt into the :class:`Store`.

Behaviour (see ``docs/data-store.md``):

* **Pagination** by ``since``: each page starts 1 bar (1 ms for funding) after the last row of
  the previous page, until the exchange returns nothing new or ``until`` is reached.
* **Retries**: ``ccxt.NetworkError`` and its subclasses (``RateLimitExceeded``,
  ``RequestTimeout``, ``ExchangeNotAvailable``, ``DDoSProtection``) are retried up to
  ``retries`` times with exponential backoff ``backoff * 2**attempt`` seconds (capped at
  ``max_backoff``). Other ccxt errors stop at once.
* **Rate limit**: exchanges built here have ``enableRateLimit=True``; on top of that the
  downloader sleeps ``exchange.rateLimit`` ms between pages.
* **Resumption**: the store is asked for what it already holds under the series key; only the
  time before the first and after the last stored row is fetched. Rows are written every
  ``flush_rows`` rows and when the download stops for any reason, so re-running the same
  command continues where it stopped.
* **No network**: if the exchange cannot be reached at all the error is one line,
  ``cannot reach <exchange>: network unavailable (<error>)``.

The exchange object is injectable (``Downloader(exchange=...)``): tests replay recorded
responses and never touch the network.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.data.resample import NS, bar_label, parse_bar
from gammaperp.data.store import PutResult, Store, catalog_key
from gammaperp.errors import GammaperpError

__all__ = [
    "KINDS",
    "DownloadError",
    "DownloadResult",
    "Downloader",
    "download",
    "make_exchange",
    "parse_time_ms",
    "venue_of",
]

KINDS = ("ohlcv", "mark", "index", "funding")
DEFAULT_LIMIT = {"ohlcv": 1000, "mark": 1000, "index": 1000, "funding": 1000}
_VENUES = {
    "binanceusdm": "binance",
    "binancecoinm": "binance",
    "gateio": "gate",
    "huobi": "htx",
    "kucoinfutures": "kucoin",
    "okx": "okx",
    "bybit": "bybit",
}


class DownloadError(GammaperpError, ConnectionError):
    """The exchange could not be reached, or a download stopped part-way."""


def venue_of(exchange_id: str) -> str:
    """The store's venue name for a ccxt exchange id (``binanceusdm`` -> ``binance``)."""
    return _VENUES.get(exchange_id, exchange_id)


def parse_time_ms(value: Any, what: str) -> int | None:
    """``"2024-01-01"``, ISO times, datetimes or epoch ms -> epoch ms UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ValueError(f"{what}: cannot read {value!r} as a UTC date/time (e.g. 2024-01-01)")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value) // 1_000_000


def _iso_ms(ms: int) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


def make_exchange(exchange_id: str, *, timeout_ms: int = 10_000) -> Any:
    """A ccxt exchange with ``enableRateLimit=True`` (unknown ids raise ValueError)."""
    import ccxt

    if exchange_id not in ccxt.exchanges:
        like = [e for e in ccxt.exchanges if exchange_id[:4].lower() in e][:8]
        hint = f"; similar: {', '.join(like)}" if like else ""
        raise ValueError(f"unknown exchange {exchange_id!r} (a ccxt exchange id){hint}")
    cls = getattr(ccxt, exchange_id)
    # requests_trust_env: honour the standard HTTP(S)_PROXY / NO_PROXY variables (ccxt
    # ignores them by default).
    return cls({"enableRateLimit": True, "timeout": int(timeout_ms), "requests_trust_env": True})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _network_reason(exc: BaseException) -> str | None:
    """A few words on why a connection failed, from the exception chain (or None)."""
    names: list[str] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        names.append(type(cur).__name__)
        cur = cur.__cause__ or cur.__context__
    if "ProxyError" in names:
        return "cannot connect to the proxy"
    if "gaierror" in names or "NameResolutionError" in names:
        return "DNS lookup failed"
    if "ConnectionRefusedError" in names:
        return "connection refused"
    if any("Timeout" in n for n in names):
        return "timed out"
    return None


@dataclass
class DownloadResult:
    """What one download did."""

    exchange: str
    symbol: str
    kind: str
    key: str
    timeframe: str | None
    requested: tuple[int, int]  # [since, until) in ms
    segments: list[tuple[int, int]]  # what had to be fetched, in ms
    pages: int = 0
    rows_fetched: int = 0
    rows_new: int = 0
    retries: list[tuple[str, float]] = field(default_factory=list)
    puts: list[PutResult] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        """Nothing needed fetching: the store already covered the request."""
        return not self.segments

    def summary(self) -> str:
        if self.up_to_date:
            a, b = (_iso_ms(x) for x in self.requested)
            return f"{self.key}: already stored {a} .. {b}, nothing to fetch"
        return f"{self.key}: {self.rows_fetched} rows in {self.pages} pages, {self.rows_new} new"


class Downloader:
    """Pages through a ccxt exchange and writes what it gets into a :class:`Store`.

    ``exchange``: a ccxt exchange object or anything with the same methods
    (``load_markets``, ``markets``, ``fetch_ohlcv``, ``fetch_funding_rate_history``, ``id``,
    ``rateLimit``). ``sleep`` and ``clock`` are injectable for tests. Until the exchange has
    answered once, at most ``first_contact_retries`` retries are made (``None``: ``retries``),
    so that a machine without network gets its error within seconds.
    """

    def __init__(
        self,
        exchange: Any,
        store: Store | None = None,
        *,
        retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        first_contact_retries: int | None = 2,
        limit: int | None = None,
        flush_rows: int = 100_000,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
        progress: bool = False,
        console: Any = None,
    ):
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if backoff < 0:
            raise ValueError(f"backoff must be >= 0 seconds, got {backoff}")
        self.exchange = exchange
        self.store = store if store is not None else Store()
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.first_contact_retries = first_contact_retries
        self.limit = limit
        self.flush_rows = int(flush_rows)
        self.sleep = sleep
        self.clock = clock
        self.progress = progress
        self.console = console
        self._retry_log: list[tuple[str, float]] = []
        self._reached = False  # any response from the exchange so far

    @property
    def exchange_id(self) -> str:
        return str(getattr(self.exchange, "id", type(self.exchange).__name__))

    # ------------------------------------------------------------------ calls with retries

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        import ccxt

        attempt = 0
        while True:
            try:
                out = fn(*args, **kwargs)
                self._reached = True
                return out
            except ccxt.NetworkError as exc:  # includes RateLimitExceeded, RequestTimeout...
                allowed = self.retries
                if not self._reached and self.first_contact_retries is not None:
                    allowed = min(allowed, self.first_contact_retries)
                if attempt >= allowed:
                    raise
                wait = min(self.max_backoff, self.backoff * (2**attempt))
                self._retry_log.append((type(exc).__name__, wait))
                self.sleep(wait)
                attempt += 1

    def _fail(self, exc: BaseException, what: str) -> DownloadError:
        import ccxt

        detail = f"{type(exc).__name__}: {_first_line(exc)}"
        reason = _network_reason(exc) if isinstance(exc, ccxt.NetworkError) else None
        if reason:
            detail += f"; {reason}"
        if isinstance(exc, ccxt.NetworkError) and not self._reached:
            return DownloadError(f"cannot reach {self.exchange_id}: network unavailable ({detail})")
        return DownloadError(f"{self.exchange_id}: {what} failed ({detail})")

    # ------------------------------------------------------------------ market description

    def _market(self, symbol: str) -> dict[str, Any]:
        import ccxt

        try:
            self._call(self.exchange.load_markets)
        except ccxt.BaseError as exc:
            raise self._fail(exc, "loading markets") from None
        markets = getattr(self.exchange, "markets", None) or {}
        if symbol not in markets:
            like = [s for s in markets if s.replace("/", "").startswith(symbol[:3].upper())][:6]
            hint = f"; e.g. {', '.join(like)}" if like else ""
            raise ValueError(f"{self.exchange_id} has no market {symbol!r}{hint}")
        return dict(markets[symbol])

    @staticmethod
    def _market_type(m: dict[str, Any]) -> str:
        if m.get("spot"):
            return "spot"
        if m.get("swap"):
            return "inverse_perp" if m.get("inverse") else "perp"
        if m.get("future"):
            return "future"
        if m.get("option"):
            return "option"
        return str(m.get("type") or "spot")

    # ------------------------------------------------------------------ the download

    def run(
        self,
        symbol: str,
        *,
        kind: str = "ohlcv",
        timeframe: str = "1m",
        since: Any = None,
        until: Any = None,
    ) -> DownloadResult:
        """Download ``kind`` for ccxt ``symbol`` over ``[since, until)`` into the store.

        ``since`` may be omitted when the series is already stored (resume after its last
        row). ``until`` defaults to now; unfinished candles are never stored.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self._retry_log = []
        candles = kind != "funding"
        bar = parse_bar(timeframe) if candles else None
        tf_label = bar_label(bar) if bar else None
        since_ms = parse_time_ms(since, "since")
        until_ms = parse_time_ms(until, "until")
        now_ms = int(self.clock() * 1000)
        if until_ms is None or until_ms > now_ms:
            until_ms = now_ms
        if since_ms is not None and since_ms >= until_ms:
            raise ValueError(f"since {_iso_ms(since_ms)} is not before until {_iso_ms(until_ms)}")

        m = self._market(symbol)
        venue = venue_of(self.exchange_id)
        canon = f"{m.get('base', '')}{m.get('quote', '')}".upper() or symbol.replace("/", "")
        market_type = "index" if kind == "index" else self._market_type(m)
        skind = {"ohlcv": "ohlcv", "index": "ohlcv", "mark": "mark", "funding": "funding"}[kind]
        if candles and tf_label:
            tfs = getattr(self.exchange, "timeframes", None) or {}
            if tfs and tf_label not in tfs:
                raise ValueError(
                    f"{self.exchange_id} has no {tf_label} candles; it has {', '.join(tfs)}"
                )
        probe = Series(skind, venue, canon, market_type, pd.DataFrame(), meta={})
        key = catalog_key(probe, bar)
        step = bar * 1000 if bar else 1

        # What is stored already: fetch only before its first and after its last row.
        stored = self.store.span(key)
        segments: list[tuple[int, int]] = []
        if stored is None:
            if since_ms is None:
                raise ValueError(f"nothing stored for {key} yet: give --since (e.g. 2024-01-01)")
            segments.append((since_ms, until_ms))
        else:
            first_ms = int(stored[0].value // 1_000_000)
            last_ms = int(stored[1].value // 1_000_000)
            start = since_ms if since_ms is not None else last_ms + step
            if start < first_ms:
                segments.append((start, min(first_ms, until_ms)))
            tail = max(start, last_ms + step)
            if tail < until_ms:
                segments.append((tail, until_ms))
        first_asked = since_ms if since_ms is not None else until_ms
        if since_ms is None and segments:
            first_asked = segments[0][0]
        result = DownloadResult(
            exchange=self.exchange_id,
            symbol=symbol,
            kind=kind,
            key=key,
            timeframe=tf_label,
            requested=(first_asked, until_ms),
            segments=segments,
        )
        if not segments:
            return result

        meta: dict[str, Any] = {
            "source": "ccxt",
            "exchange": self.exchange_id,
            "ccxt_symbol": symbol,
        }
        if bar:
            meta["bar_seconds"] = bar
        if kind in ("mark", "index"):
            meta["price"] = kind
        limit = self.limit or DEFAULT_LIMIT[kind]
        buffer: list[Any] = []

        def flush() -> None:
            if not buffer:
                return
            series = self._to_series(kind, skind, venue, canon, market_type, buffer, meta, symbol)
            res = self.store.put(series, mode="merge", source=f"ccxt:{self.exchange_id}:{symbol}")
            result.puts.append(res)
            result.rows_new += res.rows_new
            buffer.clear()

        total = sum(b - a for a, b in segments)
        with self._progress_bar() as bar_ui:
            task = bar_ui.add_task(f"{self.exchange_id} {symbol} {kind}", total=total)
            done = 0
            try:
                for seg_start, seg_end in segments:
                    cursor = seg_start
                    while cursor < seg_end:
                        page = self._fetch(kind, symbol, tf_label, cursor, limit)
                        result.pages += 1
                        if not page:
                            break
                        stamps = [self._stamp(kind, r) for r in page]
                        last = max(stamps)
                        for s, r in zip(stamps, page, strict=True):
                            if seg_start <= s < seg_end and (not bar or s + step <= now_ms):
                                buffer.append(r)
                                result.rows_fetched += 1
                        nxt = last + step
                        bar_ui.update(task, completed=done + min(nxt, seg_end) - seg_start)
                        if nxt <= cursor:
                            break
                        cursor = nxt
                        if len(buffer) >= self.flush_rows:
                            flush()
                        if cursor < seg_end:
                            self.sleep(
                                max(0.0, float(getattr(self.exchange, "rateLimit", 0))) / 1000
                            )
                    done += seg_end - seg_start
                    bar_ui.update(task, completed=done)
            except BaseException as exc:  # keep what was fetched, even on Ctrl-C
                flush()
                import ccxt

                if isinstance(exc, ccxt.BaseError):
                    resume = (
                        f"; {result.rows_fetched} rows were stored, run the same command "
                        "again to resume"
                        if result.rows_fetched
                        else ""
                    )
                    raise DownloadError(
                        f"{self._fail(exc, f'downloading {symbol} {kind}')}{resume}"
                    ) from None
                raise
            flush()
        result.retries = list(self._retry_log)
        return result

    def _progress_bar(self) -> Any:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        console = self.console
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        disable = not self.progress or not console.is_terminal
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=disable,
            transient=True,
        )

    def _fetch(self, kind: str, symbol: str, tf: str | None, since: int, limit: int) -> list[Any]:
        ex = self.exchange
        if kind == "funding":
            return list(self._call(ex.fetch_funding_rate_history, symbol, since, limit) or [])
        params = {} if kind == "ohlcv" else {"price": kind}
        return list(self._call(ex.fetch_ohlcv, symbol, tf, since, limit, params) or [])

    @staticmethod
    def _stamp(kind: str, row: Any) -> int:
        if kind == "funding":
            return int(row["timestamp"])
        return int(row[0])

    @staticmethod
    def _to_series(
        kind: str,
        skind: str,
        venue: str,
        canon: str,
        market_type: str,
        rows: Sequence[Any],
        meta: dict[str, Any],
        symbol: str,
    ) -> Series:
        if kind == "funding":
            ts = np.array([int(r["timestamp"]) for r in rows], dtype=np.int64) * 1_000_000
            rate = np.array(
                [np.nan if r.get("fundingRate") is None else float(r["fundingRate"]) for r in rows]
            )
            frame = pd.DataFrame({"rate": rate}, index=_index(ts))
            meta = dict(meta)
            uniq = np.unique(ts)
            if uniq.shape[0] > 1:
                d = np.diff(uniq)
                vals, counts = np.unique(d, return_counts=True)
                meta["interval_hours"] = float(vals[np.argmax(counts)] / (3600 * NS))
        else:
            arr = np.array(
                [[np.nan if v is None else float(v) for v in r[:6]] for r in rows], dtype=np.float64
            ).reshape(-1, 6)
            ts = arr[:, 0].astype(np.int64) * 1_000_000
            o, h, lo, c, v = (arr[:, i] for i in range(1, 6))
            if kind == "mark":
                frame = pd.DataFrame(
                    {"mark": c, "mark_open": o, "mark_high": h, "mark_low": lo}, index=_index(ts)
                )
            else:
                v = np.where(np.isnan(v), 0.0, v) if kind == "index" else v
                frame = pd.DataFrame(
                    {"open": o, "high": h, "low": lo, "close": c, "volume": v}, index=_index(ts)
                )
        return Series(
            kind=skind,  # type: ignore[arg-type]
            venue=venue,
            symbol=canon,
            market=market_type,  # type: ignore[arg-type]
            frame=frame,
            source=f"ccxt:{meta.get('exchange')}:{symbol}",
            meta=meta,
        )


def _index(ts_ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True), name="ts").as_unit("ns")


def download(
    exchange: str | Any,
    symbol: str,
    *,
    kind: str = "ohlcv",
    timeframe: str = "1m",
    since: Any = None,
    until: Any = None,
    store: Store | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    limit: int | None = None,
    progress: bool = False,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> DownloadResult:
    """Download one series into ``store`` (see :class:`Downloader`).

    ``exchange`` is a ccxt exchange id (``"binanceusdm"``) or an exchange object.
    """
    ex = make_exchange(exchange) if isinstance(exchange, str) else exchange
    dl = Downloader(
        ex,
        store,
        retries=retries,
        backoff=backoff,
        limit=limit,
        sleep=sleep,
        clock=clock,
        progress=progress,
    )
    return dl.run(symbol, kind=kind, timeframe=timeframe, since=since, until=until)
