"""Named windows and their coverage by the store (synthetic series and the shared data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gammaperp.data.frames import Series
from gammaperp.data.store import Store
from gammaperp.data.windows import WINDOWS, base_asset, get_window, resolve, windows

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"

NAMES = [
    "covid-crash-2020-03",
    "low-vol-2020-q3",
    "bull-2020-10-2021-04",
    "chop-2021-04-06",
    "luna-2022-05",
    "low-vol-2022-q3",
    "ftx-2022-11",
    "funding-spike-2024-02",
]


def ohlcv(index: pd.DatetimeIndex, symbol="BTCUSDT", market="spot", venue="binance", bar=None):
    n = len(index)
    frame = pd.DataFrame(
        {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": np.ones(n)},
        index=index.rename("ts"),
    )
    meta = {"bar_seconds": bar} if bar else {}
    return Series("ohlcv", venue, symbol, market, frame, meta=meta)


def test_the_eight_windows():
    assert list(WINDOWS) == NAMES
    assert [w.name for w in windows()] == NAMES
    covid = get_window("covid-crash-2020-03")
    assert covid.start == pd.Timestamp("2020-03-01", tz="UTC")
    assert covid.end == pd.Timestamp("2020-04-01", tz="UTC")
    assert covid.span == "2020-03-01..2020-04-01"
    chop = get_window("chop-2021-04-06")
    assert chop.start < pd.Timestamp("2021-05-19", tz="UTC") < chop.end
    for w in windows():
        assert w.start < w.end and w.description


def test_unknown_window_lists_valid_names():
    with pytest.raises(ValueError) as info:
        get_window("crash-2019")
    assert str(info.value) == "unknown window 'crash-2019'; valid windows: " + ", ".join(NAMES)
    with pytest.raises(ValueError, match="valid windows: covid-crash-2020-03"):
        resolve("nope", Store("/nonexistent-never-created"))


def test_base_asset():
    assert [base_asset(s) for s in ("BTCUSDT", "BTCUSD", "BTC", "ETHUSDC", "BTC/USDT:USDT")] == [
        "BTC",
        "BTC",
        "BTC",
        "ETH",
        "BTC",
    ]


def test_synthetic_coverage_statements(tmp_path):
    store = Store(tmp_path)
    ix = pd.date_range("2020-02-20", "2020-03-12 21:10", freq="5min", tz="UTC")
    ix = ix[(ix < "2020-03-04 09:25") | (ix >= "2020-03-04 11:30")]
    store.put(ohlcv(ix))
    res = resolve("covid-crash-2020-03", store)
    assert res.statements[1:4] == [
        "no 1-minute BTC bars cover 2020-03-01..2020-04-01",
        "5-minute binance spot BTCUSDT bars cover 38.0 %: missing 2020-03-04 09:25 → 11:30, "
        "2020-03-12 21:15 → 2020-04-01",
        "no 1-hour BTC bars cover 2020-03-01..2020-04-01",
    ]
    assert res.statements[4:] == [
        "no BTC funding series cover 2020-03-01..2020-04-01",
        "no BTC implied-vol series cover 2020-03-01..2020-04-01",
    ]
    best = res.best
    assert best is not None and best.key == "binance:BTCUSDT:spot:ohlcv:5m"
    assert (best.expected, best.present) == (31 * 288, 3398)
    assert best.missing == [
        (pd.Timestamp("2020-03-04 09:25", tz="UTC"), pd.Timestamp("2020-03-04 11:30", tz="UTC")),
        (pd.Timestamp("2020-03-12 21:15", tz="UTC"), pd.Timestamp("2020-04-01", tz="UTC")),
    ]
    assert not res.complete
    assert res.as_dict()["best"]["coverage"] == pytest.approx(3398 / 8928)


def test_full_minute_coverage_is_complete_and_preferred(tmp_path):
    store = Store(tmp_path)
    w = get_window("ftx-2022-11")
    store.put(ohlcv(pd.date_range(w.start, w.end, freq="1min", tz="UTC", inclusive="left")))
    store.put(
        ohlcv(
            pd.date_range(w.start, w.end, freq="1h", tz="UTC", inclusive="left"),
            symbol="BTCUSD",
            market="inverse_perp",
        )
    )
    res = resolve("ftx-2022-11", store, symbol="BTCUSDT")
    assert res.complete
    assert res.best.key == "binance:BTCUSDT:spot:ohlcv:1m"
    assert res.statements[1:4] == [
        "1-minute binance spot BTCUSDT bars cover 100 %",
        "no 5-minute BTC bars cover 2022-11-01..2022-12-01",
        "1-hour binance inverse_perp BTCUSD bars cover 100 %",
    ]
    eth = resolve("ftx-2022-11", store, symbol="ETHUSDT", prefer=("1m",))
    assert (
        eth.best is None
        and eth.statements[1] == "no 1-minute ETH bars cover 2022-11-01..2022-12-01"
    )


def test_funding_and_iv_coverage(tmp_path):
    store = Store(tmp_path)
    w = get_window("funding-spike-2024-02")
    ft = pd.date_range(w.start, w.end, freq="8h", tz="UTC", inclusive="left", name="ts")
    ft = ft[(ft < "2024-02-10") | (ft >= "2024-02-12")]  # two days without settlements
    store.put(
        Series(
            "funding",
            "bybit",
            "BTCUSDT",
            "perp",
            pd.DataFrame({"rate": np.full(len(ft), 1e-4)}, index=ft),
            meta={"interval_hours": 8.0},
        )
    )
    days = pd.date_range("2024-01-01", "2024-02-20", freq="1D", tz="UTC", name="ts")
    store.put(
        Series(
            "iv",
            "deribit",
            "BTC",
            "index",
            pd.DataFrame({"iv": np.full(len(days), 0.5)}, index=days),
            meta={"bar_seconds": 86400},
        )
    )
    res = resolve("funding-spike-2024-02", store)
    assert res.statements[-2:] == [
        "bybit perp BTCUSDT funding: 81 settlements, 93.1 % of the 8h schedule: none in "
        "2024-02-09 16:00 → 2024-02-12",
        "1-day deribit index BTC IV covers 68.9 %: missing 2024-02-21 → 2024-03-01",
    ]
    assert (res.funding[0].expected, res.iv[0].present, res.iv[0].expected) == (87, 20, 29)


# --------------------------------------------------------------------------- shared data

SHARED_FILES = [
    "ohlcv_5m/binance_spot_BTCUSDT_5m_2019-11-15_2020-03-12.csv.gz",
    "ohlcv_5m/binance_spot_BTCUSDT_5m_2020-12-01_2021-07-17.csv.gz",
    "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-02_2021-05-14.csv.gz",
    "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-20_2021-05-20.csv.gz",
    "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-06-10_2021-07-10.csv.gz",
    "ohlcv_1h/binance_coinm_perp_BTCUSD_PERP_1h_2020-08-11_2024-08-08_cryptodatadownload.csv.gz",
    "funding/binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz",
    "funding/gate_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz",
    "iv/deribit_btc_dvol_daily_ohlc.csv.gz",
]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Store:
    if not SHARED.is_dir():
        pytest.skip("shared data (../shared/data) not present")
    loaders = pytest.importorskip("gammaperp.data.loaders")
    store = Store(tmp_path_factory.mktemp("shared-home"))
    for rel in SHARED_FILES:
        loaded = loaders.load(SHARED / rel)
        for s in loaded if isinstance(loaded, list) else [loaded]:
            store.put(s, source=rel)
    return store


def test_shared_store_contents(shared_store):
    df = shared_store.list().set_index("key")
    # three 1m files; the first two overlap on 34,260 identical minutes (merged once)
    assert df.loc["binance:BTCUSDT:spot:ohlcv:1m", "rows"] == 61272 + 42915 + 43461 - 34260
    assert df.loc["binance:BTCUSDT:spot:ohlcv:5m", "rows"] == 33959 + 65741
    assert df.loc["binance:BTCUSD:inverse_perp:ohlcv:1h", "rows"] == 34724
    assert df.loc["deribit:BTC:index:iv:1d", "rows"] == 1840
    assert df.loc["binance:BTCUSDT:spot:ohlcv:1m", "last"] == pd.Timestamp(
        "2021-07-10 17:56", tz="UTC"
    )


def test_shared_covid_crash_coverage(shared_store):
    res = resolve("covid-crash-2020-03", shared_store, symbol="BTCUSDT")
    assert res.statements == [
        "covid-crash-2020-03 (2020-03-01..2020-04-01): "
        + get_window("covid-crash-2020-03").description,
        "no 1-minute BTC bars cover 2020-03-01..2020-04-01",
        "5-minute binance spot BTCUSDT bars cover 38.0 %: missing 2020-03-04 09:25 → 11:30, "
        "2020-03-12 21:15 → 2020-04-01",
        "no 1-hour BTC bars cover 2020-03-01..2020-04-01",
        "binance perp BTCUSDT funding: 93 settlements, 100 % of the 8h schedule",
        "gate perp BTCUSDT funding: 93 settlements, 100 % of the 8h schedule",
        "no BTC implied-vol series cover 2020-03-01..2020-04-01",
    ]
    assert res.best.key == "binance:BTCUSDT:spot:ohlcv:5m"
    assert (res.best.present, res.best.expected) == (3398, 8928)


def test_shared_chop_2021_coverage(shared_store):
    res = resolve("chop-2021-04-06", shared_store, symbol="BTCUSDT")
    assert res.statements[1:] == [
        "1-minute binance spot BTCUSDT bars cover 72.7 %: missing 2021-04-20 02:00 → 04:30, "
        "2021-04-25 04:01 → 08:45, 2021-05-20 20:41 → 2021-06-10 13:36",
        "5-minute binance spot BTCUSDT bars cover 99.6 %: missing 2021-04-20 02:00 → 04:30, "
        "2021-04-25 04:05 → 08:45",
        "1-hour binance inverse_perp BTCUSD bars cover 99.8 %: missing "
        "2021-05-01 00:00 → 01:00, 2021-06-01 00:00 → 01:00",
        "binance perp BTCUSDT funding: 231 settlements, 100 % of the 8h schedule",
        "gate perp BTCUSDT funding: 231 settlements, 100 % of the 8h schedule",
        "1-day deribit index BTC IV covers 100 %",
    ]
    # 1m is the preferred size but covers < 95 %: the 5-minute bars are the best choice
    assert res.best.key == "binance:BTCUSDT:spot:ohlcv:5m"
    assert not res.complete


def test_shared_low_vol_2020_q3_and_ftx(shared_store):
    q3 = resolve("low-vol-2020-q3", shared_store)
    assert q3.statements[1:4] == [
        "no 1-minute BTC bars cover 2020-07-01..2020-10-01",
        "no 5-minute BTC bars cover 2020-07-01..2020-10-01",
        "1-hour binance inverse_perp BTCUSD bars cover 55.0 %: missing "
        "2020-07-01 → 2020-08-11 08:00, 2020-09-01 00:00 → 01:00",
    ]
    ftx = resolve("ftx-2022-11", shared_store)
    assert ftx.statements[3] == (
        "1-hour binance inverse_perp BTCUSD bars cover 96.9 %: missing 2022-11-15 02:00 → "
        "2022-11-16"
    )
    assert ftx.best.key == "binance:BTCUSD:inverse_perp:ohlcv:1h"
