"""The ccxt downloader, replaying recorded exchange responses (never the network)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from gammaperp.data.download import Downloader, DownloadError, make_exchange, parse_time_ms
from gammaperp.data.store import Store

RECORDED = Path(__file__).parent / "recorded"
MIN = 60_000
T0 = 1689724800000  # 2023-07-19 00:00 UTC


def clock_at(stamp: str):
    value = pd.Timestamp(stamp, tz="UTC").value / 1e9
    return lambda: value


class ReplayExchange:
    """Stands in for a ccxt exchange: answers only the requests that were recorded."""

    def __init__(self, *names: str):
        self.recordings: list[dict[str, Any]] = []
        self.markets: dict[str, Any] | None = None
        self.requests: list[tuple[str, dict[str, Any]]] = []
        for name in names:
            rec = json.loads((RECORDED / name).read_text())
            self.id = rec["exchange"]
            self.rateLimit = rec["rateLimit"]
            self.timeframes = rec["timeframes"]
            self._markets = rec["markets"]
            self.recordings += rec["calls"]

    def load_markets(self, reload: bool = False) -> dict[str, Any]:
        self.markets = self._markets
        return self.markets

    def _answer(self, method: str, args: dict[str, Any]) -> list[Any]:
        self.requests.append((method, args))
        for call in self.recordings:
            if call["method"] == method and call["args"] == args:
                return json.loads(json.dumps(call["response"]))
        raise AssertionError(f"unrecorded request {method} {args}")

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
        args = {
            "symbol": symbol,
            "since": since,
            "limit": limit,
            "timeframe": timeframe,
            "params": params or {},
        }
        return self._answer("fetch_ohlcv", args)

    def fetch_funding_rate_history(self, symbol=None, since=None, limit=None, params=None):
        args = {"symbol": symbol, "since": since, "limit": limit, "params": params or {}}
        return self._answer("fetch_funding_rate_history", args)


class Flaky:
    """Wraps an exchange; the named method raises the given errors first."""

    def __init__(self, inner: Any, method: str, errors: list[Exception]):
        self._inner, self._method, self._errors = inner, method, list(errors)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def wrapped(*a, **kw):
            if self._errors:
                raise self._errors.pop(0)
            return attr(*a, **kw)

        return wrapped


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "home")


def recorded_rows(name: str) -> list[list[float]]:
    rec = json.loads((RECORDED / name).read_text())
    return [r for c in rec["calls"] for r in c["response"]]


def make(ex, store, **kw) -> tuple[Downloader, list[float]]:
    sleeps: list[float] = []
    kw.setdefault("clock", clock_at("2023-07-19 00:12:30"))
    return Downloader(ex, store, sleep=sleeps.append, **kw), sleeps


def test_recordings_look_like_ccxt_responses():
    for name in ("binanceusdm_BTCUSDT_ohlcv_1m.json", "binanceusdm_BTCUSDT_mark_1m.json"):
        for row in recorded_rows(name):
            assert len(row) == 6 and isinstance(row[0], int)
            assert all(isinstance(v, float) for v in row[1:])
    for f in recorded_rows("binanceusdm_BTCUSDT_funding.json"):
        assert set(f) == {"info", "symbol", "fundingRate", "timestamp", "datetime"}
        assert f["symbol"] == "BTC/USDT:USDT" and f["info"]["symbol"] == "BTCUSDT"
        assert f["info"]["fundingTime"] == f["timestamp"]
        assert float(f["info"]["fundingRate"]) == f["fundingRate"]
        assert pd.Timestamp(f["datetime"]).value // 1_000_000 == f["timestamp"]


def test_ohlcv_pages_until_now_and_drops_the_open_candle(store):
    ex = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    dl, sleeps = make(ex, store, limit=5)
    res = dl.run("BTC/USDT:USDT", kind="ohlcv", timeframe="1m", since="2023-07-19")
    assert res.key == "binance:BTCUSDT:perp:ohlcv:1m"
    assert res.pages == 3 and res.rows_fetched == 12 and res.rows_new == 12
    assert [a["since"] for _, a in ex.requests] == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert sleeps == [0.05, 0.05]  # exchange.rateLimit (50 ms) between pages
    got = store.get("BTCUSDT", venue="binance", market="perp")
    assert got.meta["bar_seconds"] == 60 and got.meta["exchange"] == "binanceusdm"
    rows = recorded_rows("binanceusdm_BTCUSDT_ohlcv_1m.json")[:12]  # 00:12 was still open
    f = got.frame
    assert list(f.index.as_unit("ns").asi8 // 1_000_000) == [r[0] for r in rows]
    np.testing.assert_array_equal(f["close"].to_numpy(), [r[4] for r in rows])
    np.testing.assert_array_equal(f["volume"].to_numpy(), [r[5] for r in rows])
    assert f["open"].iloc[0] == 29845.7 and f["close"].iloc[-1] == rows[-1][4]
    assert store.list().loc[0, "sources"] == "ccxt:binanceusdm:BTC/USDT:USDT"


def test_resumes_after_the_last_stored_bar(store):
    ex = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    dl, _ = make(ex, store, limit=5)
    first = dl.run("BTC/USDT:USDT", since="2023-07-19 00:00", until="2023-07-19 00:05")
    assert (first.pages, first.rows_new) == (1, 5)
    ex.requests.clear()
    again = dl.run("BTC/USDT:USDT")  # no --since: continue after what is stored
    assert again.segments == [(T0 + 5 * MIN, T0 + 12 * MIN + 30_000)]
    assert [a["since"] for _, a in ex.requests] == [T0 + 5 * MIN, T0 + 10 * MIN]
    assert again.rows_new == 7
    assert len(store.get("BTCUSDT")) == 12
    # asking again for the stored span fetches nothing at all
    ex.requests.clear()
    done = dl.run("BTC/USDT:USDT", since="2023-07-19", until="2023-07-19 00:12")
    assert done.up_to_date and ex.requests == []
    assert done.summary() == (
        "binance:BTCUSDT:perp:ohlcv:1m: already stored 2023-07-19 00:00 .. 2023-07-19 00:12, "
        "nothing to fetch"
    )


def test_funding_history_pages(store):
    ex = ReplayExchange("binanceusdm_BTCUSDT_funding.json")
    dl, sleeps = make(ex, store, limit=4, clock=clock_at("2023-07-20 20:00"))
    res = dl.run("BTC/USDT:USDT", kind="funding", since="2023-07-18")
    assert res.key == "binance:BTCUSDT:perp:funding"
    assert res.pages == 4 and res.rows_fetched == 9  # the 4th page is empty
    assert sleeps == [0.05, 0.05, 0.05]
    assert [a["since"] for _, a in ex.requests] == [
        1689638400000,
        1689724800001,  # 1 ms after the last settlement seen
        1689840000001,
        1689868800001,
    ]
    got = store.get("BTCUSDT", kind="funding")
    assert got.meta["interval_hours"] == 8.0
    assert list(got.frame["rate"]) == [
        3.983e-05,
        6.798e-05,
        7.477e-05,
        1e-04,
        5.224e-05,
        7.69e-05,
        2.652e-05,
        9.641e-05,
        5.563e-05,
    ]
    assert got.frame.index[5] == pd.Timestamp("2023-07-19 16:00:00.001", tz="UTC")


def test_mark_and_index_candles(store):
    mark = ReplayExchange("binanceusdm_BTCUSDT_mark_1m.json")
    dl, _ = make(mark, store, limit=3, clock=clock_at("2023-07-19 00:06:10"))
    res = dl.run("BTC/USDT:USDT", kind="mark", since="2023-07-19")
    assert res.key == "binance:BTCUSDT:perp:mark:1m" and res.rows_fetched == 6
    assert all(a["params"] == {"price": "mark"} for _, a in mark.requests)
    got = store.get("BTCUSDT", kind="mark")
    assert list(got.frame.columns) == ["mark", "mark_open", "mark_high", "mark_low"]
    assert got.frame["mark"].iloc[0] == 29845.8 and got.meta["price"] == "mark"

    index = ReplayExchange("binanceusdm_BTCUSDT_index_1m.json")
    dl, sleeps = make(index, store, clock=clock_at("2023-07-19 00:04:05"))
    res = dl.run("BTC/USDT:USDT", kind="index", since="2023-07-19")
    assert res.key == "binance:BTCUSDT:index:ohlcv:1m"
    assert (res.pages, res.rows_fetched) == (1, 4) and sleeps == []
    got = store.get("BTCUSDT", market="index")
    assert list(got.frame["volume"]) == [0.0] * 4
    assert got.frame.index[-1] == pd.Timestamp("2023-07-19 00:03", tz="UTC")


def test_retries_with_exponential_backoff(store):
    inner = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    ex = Flaky(
        inner,
        "fetch_ohlcv",
        [ccxt.RequestTimeout("timed out"), ccxt.RateLimitExceeded("429 too many")],
    )
    dl, sleeps = make(ex, store, limit=5, backoff=0.5)
    res = dl.run("BTC/USDT:USDT", since="2023-07-19")
    assert res.rows_new == 12
    assert sleeps == [0.5, 1.0, 0.05, 0.05]
    assert res.retries == [("RequestTimeout", 0.5), ("RateLimitExceeded", 1.0)]


def test_no_network_is_one_clear_error(store):
    inner = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    err = ccxt.NetworkError("binanceusdm GET https://fapi.binance.com/fapi/v1/exchangeInfo")
    ex = Flaky(inner, "load_markets", [err] * 10)
    dl, sleeps = make(ex, store, retries=4, backoff=0.5, max_backoff=1.5)
    with pytest.raises(DownloadError) as info:
        dl.run("BTC/USDT:USDT", since="2023-07-18")
    assert str(info.value) == (
        "cannot reach binanceusdm: network unavailable (NetworkError: binanceusdm GET "
        "https://fapi.binance.com/fapi/v1/exchangeInfo)"
    )
    assert isinstance(info.value, OSError)  # the CLI turns it into "error: ..." + exit 2
    assert sleeps == [0.5, 1.0]  # never answered: at most first_contact_retries (2) retries
    assert store.keys() == []
    dl, sleeps = make(
        ex, store, retries=4, backoff=0.5, max_backoff=1.5, first_contact_retries=None
    )
    with pytest.raises(DownloadError, match="cannot reach binanceusdm"):
        dl.run("BTC/USDT:USDT", since="2023-07-18")
    assert sleeps == [0.5, 1.0, 1.5, 1.5]  # all retries, capped by max_backoff


def test_network_reason_is_named():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise ccxt.NetworkError(
                "okx GET https://www.okx.com/api/v5/public/instruments"
            ) from inner
    except ccxt.NetworkError as exc:
        err = Downloader(object(), Store("/nonexistent"))._fail(exc, "x")
    assert str(err) == (
        "cannot reach object: network unavailable (NetworkError: okx GET "
        "https://www.okx.com/api/v5/public/instruments; connection refused)"
    )


def test_failure_mid_download_keeps_what_was_fetched(store):
    inner = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")

    calls = {"n": 0}
    real = inner.fetch_ohlcv

    def fetch(*a, **kw):
        calls["n"] += 1
        if calls["n"] > 1:
            raise ccxt.ExchangeNotAvailable("502 Bad Gateway")
        return real(*a, **kw)

    inner.fetch_ohlcv = fetch
    dl, _ = make(inner, store, limit=5, retries=1, backoff=0)
    with pytest.raises(DownloadError) as info:
        dl.run("BTC/USDT:USDT", since="2023-07-19")
    assert str(info.value) == (
        "binanceusdm: downloading BTC/USDT:USDT ohlcv failed (ExchangeNotAvailable: 502 Bad "
        "Gateway); 5 rows were stored, run the same command again to resume"
    )
    assert len(store.get("BTCUSDT")) == 5
    fresh = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    dl2, _ = make(fresh, store, limit=5)
    res = dl2.run("BTC/USDT:USDT")
    assert [a["since"] for _, a in fresh.requests] == [T0 + 5 * MIN, T0 + 10 * MIN]
    assert res.rows_new == 7 and len(store.get("BTCUSDT")) == 12


def test_exchange_errors_are_not_retried(store):
    inner = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    ex = Flaky(inner, "fetch_ohlcv", [ccxt.BadRequest('binanceusdm {"code":-1100}')])
    dl, sleeps = make(ex, store)
    with pytest.raises(DownloadError, match=r"BadRequest: binanceusdm \{\"code\":-1100\}\)$"):
        dl.run("BTC/USDT:USDT", since="2023-07-19")
    assert sleeps == []


def test_argument_errors(store):
    ex = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    dl, _ = make(ex, store)
    with pytest.raises(ValueError, match="binanceusdm has no market 'ETH/BTC'"):
        dl.run("ETH/BTC", since="2023-07-19")
    with pytest.raises(ValueError, match="kind must be one of ohlcv, mark, index, funding"):
        dl.run("BTC/USDT:USDT", kind="trades")
    with pytest.raises(ValueError, match="give --since"):
        dl.run("BTC/USDT:USDT")
    with pytest.raises(ValueError, match="has no 7m candles"):
        dl.run("BTC/USDT:USDT", timeframe="7m", since="2023-07-19")
    with pytest.raises(ValueError, match="unknown exchange 'nosuchex'"):
        make_exchange("nosuchex")
    assert parse_time_ms("2024-01-01", "since") == 1704067200000
    assert parse_time_ms("1704067200000", "since") == 1704067200000
    with pytest.raises(ValueError, match="since: cannot read 'yesterday'"):
        parse_time_ms("yesterday", "since")


def test_progress_bar_stays_silent_without_a_terminal(store):
    ex = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    out = io.StringIO()
    dl, _ = make(ex, store, limit=5, progress=True, console=Console(file=out))
    dl.run("BTC/USDT:USDT", since="2023-07-19")
    assert out.getvalue() == ""


def test_make_exchange_enables_rate_limit_and_proxy_env():
    ex = make_exchange("binanceusdm")
    assert ex.enableRateLimit is True and ex.id == "binanceusdm"
    assert ex.session.trust_env is True  # HTTPS_PROXY & co. are honoured


def test_ctrl_c_keeps_the_pages_already_fetched(store):
    inner = ReplayExchange("binanceusdm_BTCUSDT_ohlcv_1m.json")
    ex = Flaky(inner, "fetch_ohlcv", [])
    real = inner.fetch_ohlcv
    pages = {"n": 0}

    def fetch(*a, **kw):
        pages["n"] += 1
        if pages["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    inner.fetch_ohlcv = fetch
    dl, _ = make(ex, store, limit=5)
    with pytest.raises(KeyboardInterrupt):
        dl.run("BTC/USDT:USDT", since="2023-07-19")
    assert len(store.get("BTCUSDT")) == 5
