"""Each supported format, on the small fixtures in tests/data/fixtures (see
_make_fixtures.py there) and on files generated in tmp_path."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gammaperp.data.frames import Series
from gammaperp.data.loaders import (
    describe_formats,
    detect_format,
    formats,
    load,
    load_binance_funding,
    load_binance_klines,
    load_ccxt_funding,
    load_deribit_dvol,
    load_freqtrade,
    load_generic,
    load_tardis,
)
from gammaperp.errors import DataError

FIX = Path(__file__).resolve().parent / "fixtures"
MS_2024 = 1704067200000  # 2024-01-01 00:00 UTC


def test_formats_registry_lists_every_format() -> None:
    names = [f.name for f in formats()]
    assert names == [
        "binance_ws_raw",
        "freqtrade",
        "deribit_dvol",
        "ccxt_funding",
        "cryptodatadownload",
        "tardis",
        "deribit_option_chain",
        "binance_funding_web",
        "binance_vision_funding",
        "binance_vision_klines",
        "shared_ohlcv",
        "funding_history_csv",
        "funding_pct_csv",
        "funding_ft_csv",
        "multi_venue_8h",
        "generic",
    ]
    for f in formats():
        _name, description, kinds = f
        assert description and kinds
    text = describe_formats()
    assert text.count("\n") == len(names) - 1
    assert "binance_vision_klines" in text.splitlines()[9]


# ------------------------------------------------------------------ Binance Vision
def test_binance_vision_spot_zip_microseconds() -> None:
    path = FIX / "binance_vision" / "spot" / "BTCUSDT-1m-2025-01-01.zip"
    assert detect_format(path) == "binance_vision_klines"
    s = load(path)
    assert s.key == "binance:BTCUSDT:spot:ohlcv"
    assert s.meta["ts_unit"] == "us" and s.meta["bar_seconds"] == 60
    assert s.frame.index[0] == pd.Timestamp("2025-01-01 00:00", tz="UTC")
    assert s.frame.index[-1] == pd.Timestamp("2025-01-01 00:29", tz="UTC")
    assert len(s) == 30
    assert s.frame.open.iloc[0] == 93500.0
    assert list(s.frame.columns[:5]) == ["open", "high", "low", "close", "volume"]


def test_binance_vision_futures_with_header_ms() -> None:
    s = load(FIX / "binance_vision" / "BTCUSDT-1m-2024-01-01.csv")
    assert s.key == "binance:BTCUSDT:perp:ohlcv"  # a header means futures
    assert s.meta["ts_unit"] == "ms" and s.meta["header"] is True
    assert s.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert s.frame.open.iloc[0] == 42300.0
    assert (s.frame.quote_volume > s.frame.volume).all()


def test_binance_vision_coin_m_volume_is_base_asset() -> None:
    s = load(FIX / "binance_vision" / "BTCUSD_PERP-1h-2024-01.csv")
    assert s.key == "binance:BTCUSD:inverse_perp:ohlcv"
    f = s.frame
    np.testing.assert_allclose(f.volume, (f.contracts * 100 / f.close).round(8), rtol=1e-12)
    assert s.meta["bar_seconds"] == 3600


def test_binance_vision_without_header_needs_market(tmp_path: Path) -> None:
    src = (FIX / "binance_vision" / "BTCUSDT-1m-2024-01-01.csv").read_text().splitlines()[1:]
    p = tmp_path / "BTCUSDT-1m-2024-01-01.csv"
    p.write_text("\n".join(src) + "\n")
    with pytest.raises(DataError, match=r"BTCUSDT-1m-2024-01-01.csv: cannot infer the market"):
        load(p)
    s = load(p, market="perp")
    assert s.key == "binance:BTCUSDT:perp:ohlcv" and len(s) == 30
    um = tmp_path / "futures" / "um" / "monthly"
    um.mkdir(parents=True)
    (um / p.name).write_text(p.read_text())
    assert load_binance_klines(um / p.name).market == "perp"


def test_binance_vision_funding_rate_file() -> None:
    path = FIX / "binance_vision" / "BTCUSDT-fundingRate-2024-01.csv"
    s = load(path)
    assert detect_format(path) == "binance_vision_funding"
    assert s.key == "binance:BTCUSDT:perp:funding"
    assert s.meta["interval_hours"] == 8.0
    assert s.frame.rate.tolist() == [1e-4, 1.2345e-4, 8e-5, -2.5e-5, 1e-4, 3e-4]
    assert s.frame.index[1] == pd.Timestamp(MS_2024 + 28_800_001, unit="ms", tz="UTC")
    with pytest.raises(DataError, match="rate_unit must be"):
        load_binance_funding(path, rate_unit="bps")


# ------------------------------------------------------------------ Binance web export
def test_binance_web_export_newest_first_and_dst_fall_back() -> None:
    path = FIX / "Funding Rate History_BTCUSDT Perpetual_2023-10-30.csv"
    assert detect_format(path) == "binance_funding_web"
    s = load(path)
    assert s.key == "binance:BTCUSDT:perp:funding"
    assert s.meta["source_order"] == "descending"
    expected = pd.date_range("2023-10-27 16:00", "2023-10-30 08:00", freq="8h", tz="UTC")
    assert s.frame.index.equals(expected.as_unit("ns").rename("ts"))
    # "2023-10-29 01:00" (BST) -> 00:00 UTC; "2023-10-29 08:00" (GMT) -> 08:00 UTC
    assert s.frame.rate.loc["2023-10-29 00:00+00:00"] == pytest.approx(1e-4)
    assert s.frame.rate.loc["2023-10-29 08:00+00:00"] == pytest.approx(1.54e-4)
    assert s.frame.rate.loc["2023-10-28 16:00+00:00"] == pytest.approx(-2.3e-5)
    with pytest.raises(DataError, match="rate_unit='decimal' was given but the values carry a '%'"):
        load(path, rate_unit="decimal")


def test_binance_web_export_summer_and_winter(tmp_path: Path) -> None:
    p = tmp_path / "export.csv"
    p.write_text(
        "Time,Contracts,Funding Interval,Funding Rate\n"
        "2024-07-15 17:00:00,BTCUSDT Perpetual,8h,0.010000%\n"
        "2024-07-15 09:00:00,BTCUSDT Perpetual,8h,0.020000%\n"
        "2024-07-15 01:00:00,BTCUSDT Perpetual,8h,-0.005000%\n"
    )
    s = load(p)
    assert s.frame.index.hour.tolist() == [0, 8, 16]
    assert s.frame.rate.tolist() == pytest.approx([-5e-5, 2e-4, 1e-4])
    p.write_text(
        "Time,Contracts,Funding Interval,Funding Rate\n"
        "2024-01-15 16:00:00,BTCUSD CM Perpetual,8h,0.010000%\n"
        "2024-01-15 08:00:00,BTCUSD CM Perpetual,8h,0.010000%\n"
        "2024-01-15 00:00:00,BTCUSD CM Perpetual,8h,0.010000%\n"
    )
    s = load(p)
    assert s.key == "binance:BTCUSD:inverse_perp:funding"
    assert s.frame.index.hour.tolist() == [0, 8, 16]


# ------------------------------------------------------------------ ccxt
def _ccxt_rows() -> list[dict]:
    return json.loads((FIX / "ccxt_binanceusdm_BTCUSDT_funding.json").read_text())


def test_ccxt_funding_file_and_list() -> None:
    path = FIX / "ccxt_binanceusdm_BTCUSDT_funding.json"
    assert detect_format(path) == "ccxt_funding"
    s = load(path, rate_unit="decimal")
    assert s.key == "binance:BTCUSDT:perp:funding"  # venue from the raw Binance 'info'
    assert s.meta["interval_hours"] == 8.0
    assert s.frame.rate.tolist() == [0.0001, 0.000125, 0.00008, -0.00003, 0.0001, 0.00021]
    assert s.frame.index[0] == pd.Timestamp("2023-11-15 00:00", tz="UTC")
    mem = load(_ccxt_rows(), rate_unit="decimal", venue="binance")
    assert mem.frame.equals(s.frame)
    pct = load_ccxt_funding(_ccxt_rows(), rate_unit="percent")
    assert pct.frame.rate.iloc[0] == pytest.approx(1e-6)


def test_ccxt_auto_unit_raises_without_evidence() -> None:
    with pytest.raises(DataError) as err:
        load_ccxt_funding(_ccxt_rows())
    msg = str(err.value)
    assert (
        "column 'fundingRate'" in msg and "pass rate_unit='decimal' or rate_unit='percent'" in msg
    )
    assert "median |rate| = 0.0001" in msg


def test_ccxt_percent_evidence_is_used_by_auto() -> None:
    rows = _ccxt_rows()
    for r in rows:
        r["fundingRate"] = f"{r['fundingRate'] * 100:.6f}%"
    s = load_ccxt_funding(rows)
    assert s.frame.rate.iloc[1] == pytest.approx(1.25e-4)
    renamed = [
        {
            "symbol": r["symbol"],
            "timestamp": r["timestamp"],
            "fundingRatePct": float(r["fundingRate"].rstrip("%")),
        }
        for r in rows
    ]
    s = load_ccxt_funding(renamed, venue="binance")
    assert s.meta["rate_unit"] == "percent" and s.frame.rate.iloc[1] == pytest.approx(1.25e-4)
    with pytest.raises(DataError, match=r"row 3 column 'fundingRate': '8e-05' has no '%' sign"):
        rows[2]["fundingRate"] = "8e-05"
        load_ccxt_funding(rows)


def test_ccxt_symbols_and_datetime_only() -> None:
    rows = [
        {"symbol": "BTC/USD:BTC", "fundingRate": 1e-4, "datetime": "2024-01-01T00:00:00Z"},
        {"symbol": "BTC/USD:BTC", "fundingRate": 2e-4, "datetime": "2024-01-01T08:00:00Z"},
    ]
    s = load_ccxt_funding(rows, rate_unit="decimal", venue="binance")
    assert s.key == "binance:BTCUSD:inverse_perp:funding"
    assert s.frame.index[1] == pd.Timestamp("2024-01-01 08:00", tz="UTC")
    rows[1]["symbol"] = "ETH/USD:ETH"
    with pytest.raises(DataError, match=r"row 2 column 'symbol': 'ETH/USD:ETH' differs"):
        load_ccxt_funding(rows, rate_unit="decimal")


# ------------------------------------------------------------------ freqtrade
def test_freqtrade_json_spot() -> None:
    path = FIX / "freqtrade" / "binance" / "BTC_USDT-5m.json"
    s = load(path)
    assert detect_format(path) == "freqtrade"
    assert s.key == "binance:BTCUSDT:spot:ohlcv"
    assert s.meta["bar_seconds"] == 300 and len(s) == 24
    rows = json.loads(path.read_text())
    assert s.frame.index[0] == pd.Timestamp(rows[0][0], unit="ms", tz="UTC")
    assert s.frame.iloc[0].tolist() == rows[0][1:]


def test_freqtrade_feather_futures_mark_and_funding() -> None:
    fut = FIX / "freqtrade" / "binance" / "futures"
    s = load(fut / "BTC_USDT_USDT-1h-futures.feather")
    assert s.key == "binance:BTCUSDT:perp:ohlcv" and len(s) == 24
    assert s.frame.index[0] == pd.Timestamp("2023-07-22 04:00", tz="UTC")
    mark = load(fut / "BTC_USDT_USDT-1h-mark.feather")
    assert mark.meta["price_type"] == "mark"
    np.testing.assert_allclose(mark.frame.close, s.frame.close * 1.0001)
    fr = load_freqtrade(fut / "BTC_USDT_USDT-8h-funding_rate.feather")
    assert fr.key == "binance:BTCUSDT:perp:funding"
    assert fr.meta["interval_hours"] == 8.0
    assert fr.frame.rate.tolist() == [1e-4, 1e-4, 7.5e-5, 1e-4, 1.2e-4, 1e-4, -2e-5, 1e-4, 1e-4]


def test_freqtrade_inverse_pair_and_gzip(tmp_path: Path) -> None:
    rows = json.loads((FIX / "freqtrade" / "binance" / "BTC_USDT-5m.json").read_text())
    d = tmp_path / "user_data" / "data" / "okx" / "futures"
    d.mkdir(parents=True)
    p = d / "BTC_USD_BTC-5m-futures.json.gz"
    with gzip.open(p, "wt") as fh:
        json.dump(rows, fh)
    s = load(p)
    assert s.key == "okx:BTCUSD:inverse_perp:ohlcv"
    assert len(s) == 24


# ------------------------------------------------------------------ Deribit
def test_deribit_dvol_api_json() -> None:
    path = FIX / "deribit_btc_volatility_index_api.json"
    assert detect_format(path) == "deribit_dvol"
    s = load_deribit_dvol(path)
    assert s.key == "deribit:BTC:index:iv"
    assert s.frame.iv.tolist() == pytest.approx([0.531, 0.54, 0.527, 0.559, 0.572, 0.564])
    assert s.frame.iv_high.iloc[0] == pytest.approx(0.542)
    assert s.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert s.meta["bar_seconds"] == 86400


def test_deribit_dvol_bare_rows(tmp_path: Path) -> None:
    p = tmp_path / "eth_dvol.json"
    p.write_text(json.dumps([[MS_2024 + 3_600_000, 60, 61, 59, 60.5], [MS_2024, 59, 60, 58, 60]]))
    s = load(p)
    assert s.symbol == "ETH" and s.meta["source_order"] == "descending"
    assert s.frame.iv.tolist() == [0.60, 0.605]


# ------------------------------------------------------------------ CryptoDataDownload
def test_cryptodatadownload_spot_file() -> None:
    s = load(FIX / "Binance_ETHUSDT_1h.csv")
    assert s.key == "binance:ETHUSDT:spot:ohlcv"
    assert s.meta["source_order"] == "descending" and s.meta["bar_seconds"] == 3600
    assert s.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert s.frame.volume.iloc[0] == 1500.0
    assert s.frame.quote_volume.iloc[0] == pytest.approx(1500 * s.frame.close.iloc[0])
    assert s.frame.n_trades.iloc[-1] == 911.0


# ------------------------------------------------------------------ Tardis
TARDIS = FIX / "tardis"


def test_tardis_trades() -> None:
    path = TARDIS / "binance-futures_trades_2023-04-05_BTCUSDT.csv"
    assert detect_format(path) == "tardis"
    s = load(path)
    assert s.key == "binance:BTCUSDT:perp:trades"
    assert s.frame.side.tolist() == [-1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    assert s.frame.qty.iloc[6] == 1.2
    assert s.frame.index[0] == pd.Timestamp(1680652804962000, unit="us", tz="UTC")
    assert s.frame.local_ts.iloc[0] == 1680652804996600 * 1000
    assert s.frame.local_ts.dtype == np.int64


def test_tardis_derivative_ticker_to_mark() -> None:
    s = load_tardis(TARDIS / "binance-futures_derivative_ticker_2023-04-05_BTCUSDT.csv")
    assert s.kind == "mark" and len(s) == 6
    assert s.meta["dropped_rows_without_mark"] == 1
    row = s.frame.iloc[0]
    assert row["mark"] == 28155.2 and row["index"] == 28165.15
    assert row["funding_rate"] == 2.754e-05 and row["open_interest"] == 98765.432
    assert np.isnan(row["predicted_funding_rate"])
    assert row["next_funding_ts"] == pd.Timestamp("2023-04-05 08:00", tz="UTC")


def test_tardis_quotes_and_book_snapshot() -> None:
    q = load(TARDIS / "binance-futures_quotes_2023-04-05_BTCUSDT.csv")
    assert q.kind == "quotes"
    assert q.frame.iloc[0][["bid", "ask", "bid_qty", "ask_qty"]].tolist() == [
        28155.1,
        28155.2,
        0.06,
        3.793,
    ]
    b = load(TARDIS / "binance-futures_book_snapshot_5_2023-04-05_BTCUSDT.csv")
    assert b.kind == "quotes" and b.meta["levels"] == 5 and len(b) == 4
    top = b.frame.iloc[0]
    assert (top["bid"], top["ask"], top["bid_qty"], top["ask_qty"]) == (28155.1, 28155.2, 0.8, 1.5)
    assert top["ask_price_4"] == 28155.6 and top["bid_qty_4"] == 4.8
    assert top["bid_price_0"] == top["bid"]


def test_tardis_incremental_book() -> None:
    s = load(TARDIS / "binance-futures_incremental_book_L2_2023-04-05_BTCUSDT.csv")
    assert s.kind == "depth" and len(s) == 7
    assert s.frame.is_snapshot.tolist() == [1.0] * 4 + [0.0] * 3
    assert s.frame.side.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0, -1.0, 1.0]
    assert s.frame.qty.iloc[4] == 0.0


def test_tardis_options_chain_percent_iv() -> None:
    s = load(TARDIS / "deribit_options_chain_2020-05-14_OPTIONS.csv.gz")
    assert s.key == "deribit:BTC:option:option_chain"
    assert s.meta["premium_unit"] == "coin" and s.meta["iv_source_unit"] == "percent"
    f = s.frame
    assert f.instrument.tolist()[0] == "BTC-22MAY20-9250-P"
    assert f.mark_iv.tolist() == pytest.approx([0.7687, 0.765, 1.1249, 1.302])
    assert f.expiry.iloc[0] == pd.Timestamp("2020-05-22 08:00", tz="UTC")
    assert np.isnan(f.bid_price.iloc[3]) and np.isnan(f.bid_iv.iloc[3])
    assert f.delta.iloc[0] == -0.43897
    d = load_tardis(TARDIS / "deribit_options_chain_2020-05-14_OPTIONS.csv.gz", iv_unit="decimal")
    assert d.frame.mark_iv.iloc[0] == 76.87


# ------------------------------------------------------------------ generic
MAP = {
    "ts": "Date",
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "volume": "Volume",
}


def test_generic_csv_and_parquet_agree() -> None:
    csv = load_generic(FIX / "generic" / "coinbase_spot_BTCUSD_1d.csv", MAP)
    pq = load(FIX / "generic" / "coinbase_spot_BTCUSD_1d.parquet", mapping=MAP)
    assert csv.key == pq.key == "coinbase:BTCUSD:spot:ohlcv"
    assert pq.meta["ts_unit"] == "ms"
    pd.testing.assert_frame_equal(csv.frame, pq.frame)
    assert csv.frame.close.iloc[-1] == 62200.0
    assert csv.meta["bar_seconds"] == 86400


def test_generic_naive_times_need_a_zone(tmp_path: Path) -> None:
    p = tmp_path / "btc.csv"
    p.write_text("Date,Close\n2024-03-31 00:30:00,1\n2024-03-31 02:30:00,2\n")
    m = {
        "ts": "Date",
        "close": "Close",
        "open": "Close",
        "high": "Close",
        "low": "Close",
        "volume": "Close",
    }
    with pytest.raises(DataError, match=r"btc.csv row 2 column 'Date': naive datetimes"):
        load_generic(p, m, symbol="BTCUSD", market="spot")
    s = load_generic(p, m, symbol="BTCUSD", market="spot", tz="Europe/London")
    # 00:30 GMT and 02:30 BST (after the spring change) are 1 hour apart in UTC
    assert s.frame.index.tolist() == [
        pd.Timestamp("2024-03-31 00:30", tz="UTC"),
        pd.Timestamp("2024-03-31 01:30", tz="UTC"),
    ]


def test_generic_funding_needs_declared_unit(tmp_path: Path) -> None:
    p = tmp_path / "rates.csv"
    p.write_text("t,fr\n1704067200,0.01\n1704096000,0.02\n")
    with pytest.raises(DataError, match=r"rates.csv column 'fr': cannot tell whether"):
        load_generic(p, {"ts": "t", "rate": "fr"}, kind="funding", symbol="BTCUSDT", market="perp")
    s = load_generic(
        p,
        {"ts": "t", "rate": "fr"},
        kind="funding",
        symbol="BTCUSDT",
        market="perp",
        rate_unit="percent",
        venue="bybit",
    )
    assert s.key == "bybit:BTCUSDT:perp:funding"
    assert s.frame.rate.tolist() == pytest.approx([1e-4, 2e-4])
    assert s.meta["ts_unit"] == "s" and s.meta["interval_hours"] == 8.0
    p.write_text("t,fr_pct\n1704067200,0.01\n1704096000,0.02\n")
    s = load_generic(
        p, {"ts": "t", "rate": "fr_pct"}, kind="funding", symbol="BTCUSDT", market="perp"
    )
    assert s.frame.rate.tolist() == pytest.approx([1e-4, 2e-4])


# ------------------------------------------------------------------ load() plumbing
def test_load_kind_filter_and_options() -> None:
    with pytest.raises(DataError, match=r"holds a 'ohlcv' series, not kind='funding'"):
        load(FIX / "freqtrade" / "binance" / "BTC_USDT-5m.json", kind="funding")
    with pytest.raises(DataError, match=r"format 'freqtrade' does not take option tz="):
        load(FIX / "freqtrade" / "binance" / "BTC_USDT-5m.json", tz="UTC")
    with pytest.raises(DataError, match="unknown fmt 'csv'"):
        load(FIX / "Binance_ETHUSDT_1h.csv", fmt="csv")
    s = load(
        FIX / "Binance_ETHUSDT_1h.csv", fmt="cryptodatadownload", venue="binanceus", kind="ohlcv"
    )
    assert isinstance(s, Series) and s.venue == "binanceus"


def test_load_gap_policies(tmp_path: Path) -> None:
    rows = json.loads((FIX / "freqtrade" / "binance" / "BTC_USDT-5m.json").read_text())
    del rows[10:13]
    d = tmp_path / "binance"
    d.mkdir()
    p = d / "BTC_USDT-5m.json"
    p.write_text(json.dumps(rows))
    segs = load(p, gap_policy="split")
    assert [len(s) for s in segs] == [10, 11]
    assert segs[1].meta["segment"] == 1
    filled = load(p, gap_policy="ffill")
    assert len(filled) == 24 and int(filled.frame.synthetic.sum()) == 3
    with pytest.raises(DataError, match=r"BTC_USDT-5m.json row 11 column 'ts': gap of 3 missing"):
        load(p, gap_policy="fail")


def test_zip_with_several_members_is_rejected(tmp_path: Path) -> None:
    p = tmp_path / "two.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("a.csv", "x\n")
        zf.writestr("b.csv", "y\n")
    with pytest.raises(DataError, match=r"two.zip: zip archive holds 2 files \(a.csv, b.csv\)"):
        load(p)


def test_tardis_multi_symbol_file_gives_one_series_per_symbol(tmp_path: Path) -> None:
    src = (TARDIS / "binance-futures_trades_2023-04-05_BTCUSDT.csv").read_text().splitlines()
    eth = [ln.replace("BTCUSDT", "ETHUSDT").replace("28155", "1855") for ln in src[1:3]]
    p = tmp_path / "binance-futures_trades_2023-04-05_PERPETUALS.csv"
    p.write_text("\n".join([src[0], *sorted(src[1:] + eth, key=lambda x: x.split(",")[3])]) + "\n")
    res = load(p)
    assert [s.key for s in res] == ["binance:BTCUSDT:perp:trades", "binance:ETHUSDT:perp:trades"]
    assert [len(s) for s in res] == [8, 2]
    assert res[1].frame.price.tolist() == [1855.1, 1855.2]
