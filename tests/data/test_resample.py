"""Ticks -> bars, bars -> bars and alignment of bars, funding and implied vol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gammaperp.data.frames import Series
from gammaperp.data.resample import (
    NS,
    AlignedMarket,
    align,
    bar_label,
    bar_words,
    fingerprint,
    infer_bar_seconds,
    parse_bar,
    resample_ohlcv,
    ticks_to_bars,
)
from gammaperp.errors import DataError


def idx(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(stamps), tz="UTC", name="ts").as_unit("ns")


def ns(stamp: str) -> int:
    return int(pd.Timestamp(stamp, tz="UTC").value)


def trades() -> Series:
    frame = pd.DataFrame(
        {
            "price": [102.0, 100.0, 101.0, 99.0],
            "qty": [2.0, 1.0, 1.0, 3.0],
            "side": [1.0, -1.0, 1.0, -1.0],
        },
        # deliberately unsorted: the 00:00:05 trade comes second
        index=idx(
            "2024-01-01 00:00:30",
            "2024-01-01 00:00:05",
            "2024-01-01 00:00:59.999",
            "2024-01-01 00:02:10",
        ),
    )
    return Series("trades", "binance", "BTCUSDT", "perp", frame, "t.dat")


def minute_bars(start: str, n: int, **meta) -> Series:
    ix = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="ts").as_unit("ns")
    c = 100.0 + np.arange(n)
    frame = pd.DataFrame(
        {
            "open": c - 0.5,
            "high": c + 2.0,
            "low": c - 2.0,
            "close": c,
            "volume": np.arange(1, n + 1, dtype=float),
            "n_trades": np.full(n, 10.0),
        },
        index=ix,
    )
    return Series("ohlcv", "binance", "BTCUSDT", "perp", frame, "m.csv", meta)


@pytest.mark.parametrize(
    ("text", "seconds", "label"),
    [
        ("1m", 60, "1m"),
        ("5m", 300, "5m"),
        ("1h", 3600, "1h"),
        ("4H", 14400, "4h"),
        ("1d", 86400, "1d"),
        ("30s", 30, "30s"),
        ("90s", 90, "90s"),
        ("15min", 900, "15m"),
        (120, 120, "2m"),
        (pd.Timedelta("8h"), 28800, "8h"),
    ],
)
def test_parse_bar_and_label(text, seconds, label):
    assert parse_bar(text) == seconds
    assert bar_label(seconds) == label


def test_parse_bar_errors_and_words():
    for bad in ("1M", "abc", "0m", -5, 1.5, True, "1y"):
        with pytest.raises(ValueError):
            parse_bar(bad)
    assert (bar_words(60), bar_words(300), bar_words(3600)) == ("1-minute", "5-minute", "1-hour")
    assert infer_bar_seconds(np.array([0, 60, 120, 300, 360]) * NS) == 60
    assert infer_bar_seconds(np.array([5 * NS])) is None


def test_ticks_to_bars_exact():
    out = ticks_to_bars(trades(), "1m")
    assert out.kind == "ohlcv" and out.meta["bar_seconds"] == 60
    assert out.meta["resampled_from"] == "binance:BTCUSDT:perp:trades"
    f = out.frame
    assert list(f.index) == list(idx("2024-01-01 00:00", "2024-01-01 00:02"))  # no 00:01 bar
    assert list(f.columns) == ["open", "high", "low", "close", "volume", "n_trades", "vwap"]
    assert f.iloc[0].to_dict() == {
        "open": 100.0,
        "high": 102.0,
        "low": 100.0,
        "close": 101.0,
        "volume": 4.0,
        "n_trades": 3.0,
        "vwap": 101.25,  # (100*1 + 102*2 + 101*1) / 4
    }
    assert f.iloc[1].to_dict() == {
        "open": 99.0,
        "high": 99.0,
        "low": 99.0,
        "close": 99.0,
        "volume": 3.0,
        "n_trades": 1.0,
        "vwap": 99.0,
    }


def test_ticks_to_bars_fill_marks_synthetic_bars():
    f = ticks_to_bars(trades(), 60, fill=True).frame
    assert list(f.index) == list(idx("2024-01-01 00:00", "2024-01-01 00:01", "2024-01-01 00:02"))
    assert list(f["synthetic"]) == [False, True, False]
    gap = f.iloc[1]
    assert (gap["open"], gap["high"], gap["low"], gap["close"]) == (101.0, 101.0, 101.0, 101.0)
    assert (gap["volume"], gap["n_trades"], gap["vwap"]) == (0.0, 0.0, 101.0)
    assert f["close"].iloc[2] == 99.0
    with pytest.raises(ValueError, match="expected a 'trades' series"):
        ticks_to_bars(minute_bars("2024-01-01", 3), "1m")


def test_resample_complete_bars_only():
    src = minute_bars("2024-01-01 00:03", 12)  # 00:03 .. 00:14
    out = resample_ohlcv(src, "5m")
    f = out.frame
    assert out.meta["bar_seconds"] == 300
    assert list(f.index) == list(idx("2024-01-01 00:05", "2024-01-01 00:10"))
    first = f.iloc[0]  # source rows 2..6 (00:05..00:09)
    assert first["open"] == 101.5 and first["close"] == 106.0
    assert first["high"] == 108.0 and first["low"] == 100.0
    assert first["volume"] == 3 + 4 + 5 + 6 + 7
    assert first["n_trades"] == 50.0
    part = resample_ohlcv(src, "5m", partial=True).frame
    assert list(part.index) == list(idx("2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:10"))
    assert list(part["complete"]) == [False, True, True]
    assert part["volume"].iloc[0] == 1 + 2
    assert part["open"].iloc[0] == 99.5 and part["close"].iloc[0] == 101.0


def test_resample_gap_inside_bar_and_hourly_labels():
    src = minute_bars("2024-01-01 00:00", 180)
    holed = Series(src.kind, src.venue, src.symbol, src.market, src.frame.drop(src.frame.index[70]))
    out = resample_ohlcv(holed, "1h")  # bar size inferred; the 01:00 hour lacks 01:10
    assert list(out.frame.index) == list(idx("2024-01-01 00:00", "2024-01-01 02:00"))
    assert out.frame["close"].iloc[1] == 100.0 + 179
    with pytest.raises(ValueError, match="whole multiple"):
        resample_ohlcv(src, "90s")


def test_resample_vwap_weighting():
    src = minute_bars("2024-01-01", 2)
    frame = src.frame.assign(vwap=[10.0, 20.0], volume=[1.0, 3.0])
    out = resample_ohlcv(Series("ohlcv", "x", "X", "spot", frame), "2m").frame
    assert out["vwap"].iloc[0] == 17.5


# --------------------------------------------------------------------------- align


def test_align_bar_close_times_and_fallbacks():
    src = minute_bars("2024-01-01", 10, bar_seconds=60)
    a = align(src)
    assert isinstance(a, AlignedMarket) and len(a) == 10
    assert a.ts[0] == ns("2024-01-01 00:01") and a.ts[-1] == ns("2024-01-01 00:10")
    assert a.ts.dtype == np.int64
    assert a.open_ts[0] == ns("2024-01-01 00:00")
    np.testing.assert_array_equal(a.close, 100.0 + np.arange(10))
    np.testing.assert_array_equal(a.mark, a.close)
    np.testing.assert_array_equal(a.index, a.close)
    assert a.meta["fallbacks"] == {
        "mark": "close",
        "index": "close",
        "funding": "none",
        "iv": "none",
    }
    assert np.isnan(a.iv).all() and a.funding_ts.shape == (0,)
    assert a.meta["sources"]["ohlcv"]["fingerprint"] == fingerprint(src)


def test_align_funding_window_and_bar_mapping():
    src = minute_bars("2024-01-01", 10)
    fund = Series(
        "funding",
        "binance",
        "BTCUSDT",
        "perp",
        pd.DataFrame(
            {"rate": [9.0, 1e-4, 2e-4, 3e-4, 9.0]},
            index=idx(
                "2024-01-01 00:00:30",  # before the first bar close: dropped
                "2024-01-01 00:01",  # == first close -> bar 0
                "2024-01-01 00:04:30",  # -> bar 4 (closes 00:05)
                "2024-01-01 00:10",  # == last close -> bar 9
                "2024-01-01 00:10:00.001",  # after the last close: dropped
            ),
        ),
        meta={"interval_hours": 8},
    )
    a = align(src, fund)
    assert list(a.funding_ts) == [
        ns("2024-01-01 00:01"),
        ns("2024-01-01 00:04:30"),
        ns("2024-01-01 00:10"),
    ]
    assert list(a.funding_rate) == [1e-4, 2e-4, 3e-4]
    assert list(a.funding_bar) == [0, 4, 9]
    assert a.meta["funding_events"] == 3 and a.meta["funding_interval_hours"] == 8


def test_align_daily_iv_uses_previous_day_close():
    ix = pd.date_range("2024-01-01", periods=72, freq="1h", tz="UTC", name="ts")
    src = Series(
        "ohlcv",
        "binance",
        "BTCUSDT",
        "perp",
        pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=ix),
    )
    dvol = Series(
        "iv",
        "deribit",
        "BTC",
        "index",
        pd.DataFrame(
            {"iv": [0.50, 0.60, 0.70], "iv_open": [0.4, 0.5, 0.6]},
            index=idx("2024-01-01", "2024-01-02", "2024-01-03"),
        ),
    )
    a = align(src, iv=dvol)
    assert a.meta["iv_known_after_seconds"] == 86400
    # bars closing 01:00 .. 23:00 on day 1: day 1's close is not known yet
    assert np.isnan(a.iv[:23]).all() and a.meta["iv_missing_bars"] == 23
    assert a.iv[23] == 0.50  # bar closing 2024-01-02 00:00 sees day 1's close
    assert a.iv[24] == 0.50 and a.iv[46] == 0.50  # during day 2: still day 1's close
    assert a.iv[47] == 0.60  # closing 2024-01-03 00:00
    assert a.iv[71] == 0.70  # closing 2024-01-04 00:00
    # point observations (no bar stamp) are known at their own time
    spot = Series(
        "iv", "deribit", "BTC", "index", pd.DataFrame({"iv": [0.3]}, index=idx("2024-01-01 05:00"))
    )
    b = align(src, iv=spot)
    assert np.isnan(b.iv[3]) and b.iv[4] == 0.3 and b.meta["iv_known_after_seconds"] == 0


def test_align_mark_and_index_sources():
    src = minute_bars("2024-01-01", 4)
    with_mark = src.frame.assign(mark=[1.0, 2.0, np.nan, 4.0])
    a = align(Series("ohlcv", "binance", "BTCUSDT", "perp", with_mark))
    assert list(a.mark) == [1.0, 2.0, 102.0, 4.0]
    assert a.meta["fallbacks"]["mark"] == "close for 1 of 4 bars"
    mark = Series(
        "mark",
        "binance",
        "BTCUSDT",
        "perp",
        pd.DataFrame(
            {"mark": [50.0, 51.0, 52.0]},
            index=idx("2024-01-01 00:01", "2024-01-01 00:02", "2024-01-01 00:03"),
        ),
        meta={"bar_seconds": 60},
    )
    b = align(src, mark=mark)
    # mark candle opening 00:01 closes 00:02 = close of bar 1; bar 0 has none -> close
    assert list(b.mark) == [100.0, 50.0, 51.0, 52.0]
    assert b.meta["fallbacks"]["mark"] == "close for 1 of 4 bars"
    assert b.meta["sources"]["mark"]["key"] == "binance:BTCUSDT:perp:mark"


def test_align_rejects_unsorted_and_wrong_kinds():
    src = minute_bars("2024-01-01", 3)
    rev = Series("ohlcv", "b", "X", "spot", src.frame.iloc[::-1])
    with pytest.raises(DataError, match="row 1: unsorted timestamp"):
        align(rev, bar_seconds=60)
    with pytest.raises(ValueError, match="expected a 'funding' series"):
        align(src, src)


def test_aligned_market_feeds_the_market_builder():
    market = pytest.importorskip("gammaperp.market")
    src = minute_bars("2024-01-01", 10)
    fund = Series(
        "funding",
        "binance",
        "BTCUSDT",
        "perp",
        pd.DataFrame({"rate": [1e-4, 2e-4]}, index=idx("2024-01-01 00:01", "2024-01-01 00:04:30")),
    )
    a = align(src, fund)
    b = market.MarketBuilder(a.ts)
    b.add_instrument(
        market.Instrument("BTCUSDT", "binance", "perp_linear"),
        a.close,
        open=a.open,
        high=a.high,
        low=a.low,
        volume=a.volume,
        funding_ts=a.funding_ts,
        funding_rate=a.funding_rate,
    )
    m = b.build()
    assert list(m.funding_bar) == list(a.funding_bar) == [0, 4]
