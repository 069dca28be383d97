"""Every file of the shared data directory (../shared/data from the repo root) loads with the
right identity, row count and span (README / MANIFEST.json), and the documented gaps, units
and time-zone conversions come out as documented."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gammaperp.data.frames import Series
from gammaperp.data.loaders import detect_format, load
from gammaperp.data.validate import validate, validate_file

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
FILES = sorted(p.relative_to(DATA).as_posix() for p in DATA.glob("*/*.gz")) if DATA.is_dir() else []

needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")
pytestmark = needs_data


@cache
def manifest() -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((DATA / "MANIFEST.json").read_text())}


@cache
def loaded(rel: str) -> Series | list[Series]:
    return load(DATA / rel)


def one(rel: str) -> Series:
    res = loaded(rel)
    assert isinstance(res, Series), rel
    return res


def utc(s: str) -> pd.Timestamp:
    t = pd.Timestamp(s)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def expected_identity(rel: str) -> tuple[str, str, str, str]:
    """(venue, symbol, market, kind) as the README describes each file."""
    name = rel.split("/")[1]
    e = manifest()[rel]
    if rel.startswith(("ohlcv_1m/", "ohlcv_5m/")):
        market = {"spot": "spot", "usdm_perp": "perp"}[e["market"]]
        return e["venue"], e["symbol"].split(":")[0].replace("/", ""), market, "ohlcv"
    if rel.startswith("ohlcv_1h/"):
        return "binance", "BTCUSD", "inverse_perp", "ohlcv"
    if rel.startswith("iv/deribit_BTC_option_chain"):
        return "deribit", "BTC", "option", "option_chain"
    if rel.startswith("iv/"):
        return "deribit", name.split("_")[1].upper(), "index", "iv"
    if rel.startswith("ticks/"):
        return "binance", "BTCUSDT", "perp", "trades"
    venue, sym = name.split("_")[:2]
    if venue == "dydx":
        return "dydx", sym.replace("USDT", "USD"), "perp", "funding"
    if name.startswith("binance_BTCUSD_PERP"):
        return "binance", "BTCUSD", "inverse_perp", "funding"
    return venue, sym, "perp", "funding"


EXPECTED_FORMAT = {
    "ohlcv_1m": "shared_ohlcv",
    "ohlcv_5m": "shared_ohlcv",
    "ohlcv_1h": "cryptodatadownload",
    "ticks": "binance_ws_raw",
}


def expected_format(rel: str) -> str:
    folder, name = rel.split("/")
    if folder in EXPECTED_FORMAT:
        return EXPECTED_FORMAT[folder]
    if "option_chain" in name:
        return "deribit_option_chain"
    if "dvol" in name:
        return "deribit_dvol"
    if "webexport" in name:
        return "binance_funding_web"
    if "_pct_" in name:
        return "funding_pct_csv"
    if "_ft_" in name:
        return "funding_ft_csv"
    if name.startswith("binance_bybit_okx"):
        return "multi_venue_8h"
    return "funding_history_csv"


def test_shared_directory_matches_manifest() -> None:
    assert len(FILES) == 57
    assert set(FILES) == set(manifest())


@pytest.mark.parametrize("rel", FILES)
def test_shared_file_loads_with_manifest_rows_and_span(rel: str) -> None:
    e = manifest()[rel]
    assert detect_format(DATA / rel) == expected_format(rel)
    res = loaded(rel)
    first, last = utc(e["first"]), utc(e["last"])
    venue, symbol, market, kind = expected_identity(rel)
    if rel.startswith("ticks/"):
        assert isinstance(res, list)
        streams = {s.kind: s for s in res}
        assert set(streams) == {"trades", "quotes", "mark", "depth"}
        for s in res:
            assert (s.venue, s.symbol, s.market) == (venue, symbol, market)
            assert str(s.frame.index.tz) == "UTC"
        dropped = sum(streams["trades"].meta["dropped_trades"].values())
        n_msgs = (
            len(streams["trades"])
            + dropped
            + len(streams["quotes"])
            + len(streams["mark"])
            + streams["depth"].meta["n_updates"]
            + (1 if streams["depth"].meta["snapshot_levels"] else 0)
        )
        assert n_msgs == e["rows"]
        local = np.concatenate([s.frame["local_ts"].to_numpy() for s in res])
        assert pd.Timestamp(local.min(), tz="UTC") == first
        assert pd.Timestamp(local.max(), tz="UTC") == last
        return
    if rel.startswith("funding/binance_bybit_okx"):
        assert isinstance(res, list)
        ohlcv = [s for s in res if s.kind == "ohlcv"]
        funding = [s for s in res if s.kind == "funding"]
        assert len(ohlcv) == 18 and len(funding) == 12
        assert sum(len(s) for s in ohlcv) == e["rows"] == 29556
        for s in res:
            assert len(s) == 1642
            assert s.frame.index[0] == first and s.frame.index[-1] == last
        return
    s = one(rel)
    assert (s.venue, s.symbol, s.market, s.kind) == (venue, symbol, market, kind)
    assert len(s) == e["rows"]
    assert str(s.frame.index.tz) == "UTC" and s.frame.index.name == "ts"
    if kind == "option_chain":
        assert s.frame.index.min() == first and s.frame.index.max() == last
        return
    assert s.frame.index.is_monotonic_increasing
    assert s.frame.index[0] == first
    assert s.frame.index[-1] == last
    numeric = s.frame.select_dtypes(include="number")
    assert all(dt == np.float64 for dt in numeric.dtypes)


OHLCV_FILES = [f for f in FILES if f.startswith("ohlcv_")]


@pytest.mark.parametrize("rel", OHLCV_FILES)
def test_ohlcv_gaps_match_manifest(rel: str) -> None:
    e = manifest()[rel]
    report = validate(one(rel))
    missing_key = "missing_hours" if "missing_hours" in e else "missing_bars"
    assert len(report.gaps) == e["n_gaps"]
    assert report.missing == e[missing_key]
    assert report.ok


def _gaps(rel: str) -> list[tuple[str, str, int]]:
    return [
        (g.start.strftime("%Y-%m-%d %H:%M"), g.end.strftime("%Y-%m-%d %H:%M"), g.missing)
        for g in validate(one(rel)).gaps
    ]


def test_binance_maintenance_gaps_of_april_2021() -> None:
    assert _gaps("ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-02_2021-05-14.csv.gz") == [
        ("2021-04-20 01:59", "2021-04-20 04:30", 150),
        ("2021-04-25 04:00", "2021-04-25 08:45", 284),
    ]
    assert _gaps("ohlcv_1m/binance_spot_ETHUSDT_1m_2021-04-20_2021-05-20.csv.gz") == [
        ("2021-04-25 04:00", "2021-04-25 08:45", 284)
    ]


def test_five_minute_gaps_as_listed_in_readme() -> None:
    assert _gaps("ohlcv_5m/binance_spot_BTCUSDT_5m_2019-11-15_2020-03-12.csv.gz") == [
        ("2019-11-25 01:55", "2019-11-25 04:00", 24),
        ("2020-02-09 01:55", "2020-02-09 03:00", 12),
        ("2020-02-19 11:35", "2020-02-19 17:30", 70),
        ("2020-03-04 09:20", "2020-03-04 11:30", 25),
    ]
    assert _gaps("ohlcv_5m/binance_spot_BTCUSDT_5m_2022-08-01_2023-09-27.csv.gz") == [
        ("2023-03-24 12:35", "2023-03-24 14:00", 16)
    ]
    ftx = _gaps("ohlcv_5m/ftx_spot_ETHUSDT_5m_2021-11-10_2022-05-28.csv.gz")
    assert len(ftx) == 6 and {g[2] for g in ftx} == {1}


def test_gate_december_2020_gap_is_reported() -> None:
    for sym in ("BTC", "ETH"):
        rel = f"funding/gate_{sym}USDT_perp_funding_2020-01-01_2023-12-31.csv.gz"
        assert _gaps(rel) == [("2020-11-30 16:00", "2021-01-01 00:00", 93)]
        report = validate(one(rel), gap_policy="fail")
        assert not report.ok
        assert report.errors[0].check == "gap"
        assert report.errors[0].ts == pd.Timestamp("2021-01-01", tz="UTC")


def test_cryptodatadownload_hourly_gaps_and_units() -> None:
    rel = (
        "ohlcv_1h/binance_coinm_perp_BTCUSD_PERP_1h_2020-08-11_2024-08-08_cryptodatadownload.csv.gz"
    )
    s = one(rel)
    gaps = _gaps(rel)
    assert len(gaps) == 31 and sum(g[2] for g in gaps) == 284
    assert ("2024-01-30 23:00", "2024-02-01 00:00", 24) in gaps
    assert ("2022-11-15 01:00", "2022-11-16 00:00", 22) in gaps
    assert ("2020-08-31 23:00", "2020-09-01 01:00", 1) in gaps  # CDD's missing 00:00 bar
    assert s.meta["source_order"] == "descending" and s.meta["bar_seconds"] == 3600
    last = s.frame.iloc[-1]  # 2024-08-08 23:00, the first data line of the file
    assert last["close"] == 61668.6
    assert last["volume"] == pytest.approx(3137.12185736)  # base asset (BTC)
    assert last["contracts"] == 1949736.0
    assert last["n_trades"] == 44921.0


def test_htx_irregular_settlements_and_missing_pair() -> None:
    report = validate(one("funding/htx_BTCUSDT_perp_funding_2021-01-01_2023-12-31.csv.gz"))
    assert [(str(g.start), str(g.end), g.missing) for g in report.gaps] == [
        ("2021-02-19 08:00:00+00:00", "2021-02-20 08:00:00+00:00", 2)
    ]
    irregular = [i.ts for i in report.issues if i.check == "irregular"]
    assert len(irregular) == 14
    assert pd.Timestamp("2021-04-07 18:00", tz="UTC") in irregular
    assert pd.Timestamp("2023-04-12 09:00", tz="UTC") in irregular


def test_funding_interval_hours_inferred() -> None:
    assert (
        one("funding/dydx_BTCUSDT_perp_funding_2022-01-01_2023-12-31.csv.gz").meta["interval_hours"]
        == 1.0
    )
    assert (
        one("funding/binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz").meta[
            "interval_hours"
        ]
        == 8.0
    )
    kucoin = one("funding/kucoin_BTCUSDT_perp_funding_2021-01-01_2023-12-31.csv.gz")
    assert sorted(set(kucoin.frame.index.hour)) == [4, 12, 20]
    dydx = one("funding/dydx_ETHUSDT_perp_funding_2022-01-01_2023-12-31.csv.gz")
    assert dydx.meta["source_symbol"] == "ETH-USDT" and dydx.symbol == "ETHUSD"
    assert validate(dydx).gaps == []


def test_percent_file_equals_decimal_sources_on_overlap() -> None:
    pct = one("funding/binance_BTCUSDT_perp_funding_pct_2022-11-03_2025-11-12.csv.gz").frame.rate
    dec = one("funding/binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz").frame.rate
    ft = one("funding/binance_BTCUSDT_perp_funding_ft_2023-12-01_2025-11-17.csv.gz").frame.rate
    j = pct.to_frame("pct").join(dec.rename("dec"), how="inner")
    assert len(j) == 1271
    np.testing.assert_allclose(j["pct"], j["dec"], rtol=0, atol=1e-15)
    j = pct.to_frame("pct").join(ft.rename("ft"), how="inner")
    assert len(j) == 2138
    np.testing.assert_allclose(j["pct"], j["ft"], rtol=0, atol=1e-15)
    # raw file value 0.00044 (percent) at 2022-11-03 08:00:00.016
    assert pct.iloc[0] == pytest.approx(4.4e-6, abs=1e-18)
    assert pct.index[0] == pd.Timestamp("2022-11-03 08:00:00.016", tz="UTC")


def test_web_export_dst_winter_and_summer_map_to_funding_grid() -> None:
    rel = "funding/binance_BTCUSDT_perp_funding_webexport_2019-09-10_2024-08-09.csv.gz"
    s = one(rel)
    with gzip.open(DATA / rel, "rt") as fh:
        raw = pd.read_csv(fh)
    raw_hours = pd.to_datetime(raw["Time"]).dt.hour
    assert set(raw_hours) == {0, 1, 8, 9, 16, 17}
    assert sorted(set(s.frame.index.hour)) == [0, 8, 16]
    assert s.meta["source_order"] == "ascending"
    times = set(raw["Time"])
    assert {"2024-01-15 00:00:00", "2024-01-15 08:00:00", "2024-01-15 16:00:00"} <= times
    assert {"2024-07-15 01:00:00", "2024-07-15 09:00:00", "2024-07-15 17:00:00"} <= times
    for day in ("2024-01-15", "2024-07-15"):
        for h in (0, 8, 16):
            assert pd.Timestamp(f"{day} {h:02d}:00", tz="UTC") in s.frame.index
    # the ambiguous fall-back hour (01:00 occurs twice) resolves to 00:00 UTC
    assert "2023-10-29 01:00:00" in times
    assert pd.Timestamp("2023-10-29 00:00", tz="UTC") in s.frame.index
    assert validate(s).gaps == []
    web = s.frame.rate
    dec = one("funding/binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz").frame.rate
    dec.index = dec.index.round("s")
    j = web.to_frame("web").join(dec.rename("dec"), how="inner")
    assert len(j) == 4383
    # the export rounds to 6 decimals of a percent = 1e-8 in decimal
    assert float(np.abs(j["web"] - j["dec"]).max()) <= 1e-8 + 1e-15


def test_coin_m_web_export() -> None:
    s = one("funding/binance_BTCUSD_PERP_perp_funding_webexport_2023-09-11_2024-08-09.csv.gz")
    assert s.key == "binance:BTCUSD:inverse_perp:funding"
    assert s.frame.rate.iloc[0] == pytest.approx(5.422e-05, abs=1e-15)
    assert s.frame.rate.iloc[-1] == pytest.approx(1e-4, abs=1e-15)


def test_multi_venue_file_series_and_values() -> None:
    res = loaded(
        "funding/binance_bybit_okx_BTC_ETH_8h_ohlcv_and_funding_2023-01-01_2024-07-01.csv.gz"
    )
    by_key = {s.key: s for s in res}
    assert len(by_key) == 30
    assert by_key["binance:BTCUSD:inverse_perp:funding"].frame.rate.iloc[0] == -1.609e-05
    assert by_key["binance:BTCUSDT:perp:funding"].frame.rate.iloc[0] == 0.0001
    spot = by_key["binance:BTCUSDT:spot:ohlcv"]
    assert spot.frame.iloc[0][["open", "close"]].tolist() == [16541.77, 16526.19]
    assert spot.meta["bar_seconds"] == 8 * 3600
    okx = by_key["okx:ETHUSDT:perp:funding"]
    assert okx.frame.rate.iloc[-1] == pytest.approx(-6.85589116179e-05)
    # the last row is "2024-07-01 01:00" London summer time
    assert okx.frame.index[-1] == pd.Timestamp("2024-07-01 00:00", tz="UTC")
    multi = by_key["bybit:BTCUSDT:perp:funding"].frame.rate
    src = one("funding/bybit_BTCUSDT_perp_funding_2021-01-01_2023-12-31.csv.gz").frame.rate
    j = multi.to_frame("m").join(src.rename("s"), how="inner")
    assert len(j) == 1095
    assert float(np.abs(j["m"] - j["s"]).max()) == 0.0
    for s in res:
        assert validate(s).gaps == []


def test_dvol_is_sorted_ascending_and_decimal() -> None:
    s = one("iv/deribit_btc_dvol_daily_ohlc.csv.gz")
    assert s.meta["source_order"] == "descending"
    assert s.meta["bar_seconds"] == 86400
    assert s.frame.iv.iloc[0] == pytest.approx(0.9504)
    assert s.frame.iv_open.iloc[0] == pytest.approx(0.848)
    assert s.frame.iv.iloc[-1] == pytest.approx(0.4776)
    assert validate(s).gaps == []
    eth = one("iv/deribit_eth_dvol_daily_ohlc.csv.gz")
    assert eth.frame.iv.iloc[0] == pytest.approx(1.0673)


def test_option_chain_snapshot_units() -> None:
    s = one("iv/deribit_BTC_option_chain_snapshot_2020-05-14T0541Z.csv.gz")
    f = s.frame
    assert s.meta["premium_unit"] == "coin"
    row = f[f.instrument == "BTC-22MAY20-9250-P"].iloc[0]
    assert row["option_type"] == "put"
    assert row["strike"] == 9250.0
    assert row["mark_price"] == pytest.approx(0.04010621)
    assert row["mark_iv"] == pytest.approx(0.7687)
    assert row["bid_iv"] == pytest.approx(0.8007)
    assert row["ask_iv"] == pytest.approx(0.8517)
    assert row["bid_price"] == 0.042
    assert row["delta"] == pytest.approx(-0.43897)
    assert row["vega"] == pytest.approx(5.49167)
    assert row["expiry"] == pd.Timestamp("2020-05-22 08:00", tz="UTC")
    assert int((f.mark_price == 0).sum()) == 6  # expiring, worthless options
    assert f.mark_iv.between(0.75, 2.1).all()
    assert f.index.is_monotonic_increasing  # polled order is not time order; sorted
    no_ask = f[f.instrument == "BTC-25DEC20-32000-P"].iloc[0]
    assert np.isnan(no_ask["ask_price"]) and np.isnan(no_ask["ask_iv"])
    assert (
        sorted(f.expiry.dt.strftime("%Y-%m-%d").unique())
        == manifest()["iv/deribit_BTC_option_chain_snapshot_2020-05-14T0541Z.csv.gz"]["expiries"]
    )


def test_websocket_capture_streams() -> None:
    res = {s.kind: s for s in loaded("ticks/binance_usdm_perp_BTCUSDT_raw_ws_20230404.dat.gz")}
    t, q, m, d = res["trades"], res["quotes"], res["mark"], res["depth"]
    assert (len(t), len(q), len(m)) == (2197, 6765, 99)
    assert d.meta["n_updates"] == 4322
    first = t.frame.iloc[0]
    assert first["price"] == 28145.1 and first["qty"] == 0.002 and first["side"] == -1.0
    assert t.frame.index[0] == pd.Timestamp(1680652700452, unit="ms", tz="UTC")
    assert first["local_ts"] == 1680652700441533000
    assert q.frame.iloc[0][["bid", "bid_qty", "ask", "ask_qty"]].tolist() == [
        28145.1,
        3.868,
        28145.2,
        6.887,
    ]
    mk = m.frame.iloc[0]
    assert mk["mark"] == pytest.approx(28147.27373413)
    assert mk["index"] == pytest.approx(28159.75642857)
    assert mk["funding_rate"] == pytest.approx(2.754e-05)
    assert mk["next_funding_ts"] == pd.Timestamp("2023-04-05 00:00", tz="UTC")
    snap = d.frame[d.frame.is_snapshot == 1.0]
    assert d.meta["snapshot_levels"] == len(snap) == 2000
    assert snap.last_update_id.iloc[0] == 2710246765483.0
    assert snap.iloc[0][["side", "price", "qty"]].tolist() == [1.0, 28145.1, 3.818]
    diffs = d.frame[d.frame.is_snapshot == 0.0]
    assert diffs.iloc[0][["side", "price", "qty"]].tolist() == [1.0, 5000.0, 14.368]
    assert diffs.prev_update_id.iloc[0] == 2710246765326.0
    day2 = {s.kind: s for s in loaded("ticks/binance_usdm_perp_BTCUSDT_raw_ws_20230405.dat.gz")}
    assert len(day2["trades"]) == 10737
    assert day2["trades"].meta["dropped_trades"] == {"INSURANCE_FUND": 1}
    assert day2["depth"].meta["snapshot_levels"] == 0


def test_validate_file_names_source_lines() -> None:
    rel = "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-02_2021-05-14.csv.gz"
    (report,) = validate_file(DATA / rel)
    gap_rows = [i.row for i in report.issues if i.check == "gap"]
    ts = one(rel).frame.index
    first_after = int(np.flatnonzero(ts == pd.Timestamp("2021-04-20 04:30", tz="UTC"))[0])
    assert gap_rows[0] == first_after + 2  # header is line 1, data start on line 2
    cdd = (
        "ohlcv_1h/binance_coinm_perp_BTCUSD_PERP_1h_2020-08-11_2024-08-08_cryptodatadownload.csv.gz"
    )
    (report,) = validate_file(DATA / cdd)
    gap = next(i for i in report.issues if i.check == "gap")
    # newest-first file: the earliest bar after the first gap sits near the end of the file
    assert gap.ts == pd.Timestamp("2020-09-01 01:00", tz="UTC")
    n = 34724
    assert gap.row == 3 + (n - 1 - gap.position)  # URL line, header, then data
