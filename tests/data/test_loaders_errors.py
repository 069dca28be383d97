"""Deliberately broken inputs: every one is a DataError naming the file, the row (1-based
source line) and, when it is about one cell, the column."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from gammaperp.data.loaders import load, load_binance_klines, load_binance_ws, load_generic
from gammaperp.errors import DataError

T0 = 1704067200000  # 2024-01-01 00:00 UTC, ms
HEADER = "open_time_ms,open_time_utc,open,high,low,close,volume"
NAME = "binance_spot_BTCUSDT_1m_2024-01-01_2024-01-02.csv"


def candles(n: int = 40) -> list[list]:
    rows = []
    for k in range(n):
        t = T0 + k * 60_000
        iso = f"2024-01-01T{k // 60:02d}:{k % 60:02d}:00Z"
        o = 42000.0 + k
        rows.append([t, iso, o, o + 5.5, o - 4.5, o + 1.0, 12.5 + k])
    return rows


def write(path: Path, rows: list[list], header: str = HEADER) -> Path:
    text = header + "\n" + "\n".join(",".join(str(x) for x in r) for r in rows) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    s = load(write(tmp_path / NAME, candles()))
    assert s.key == "binance:BTCUSDT:spot:ohlcv" and len(s) == 40
    assert s.frame.close.iloc[16] == 42017.0


def test_truncated_gzip_names_the_line(tmp_path: Path) -> None:
    good = write(tmp_path / (NAME + ".gz"), candles(400)).read_bytes()
    cut = good[: len(good) // 2]
    p = tmp_path / "cut.csv.gz"
    p.write_bytes(cut)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    partial = d.decompress(cut)
    line = partial.count(b"\n") + 1
    with pytest.raises(DataError) as err:
        load(p)
    assert str(err.value).startswith(f"cut.csv.gz row {line}: truncated gzip file")
    assert f"({line - 1} complete lines)" in str(err.value)


def test_corrupt_gzip(tmp_path: Path) -> None:
    good = bytearray(write(tmp_path / (NAME + ".gz"), candles(400)).read_bytes())
    good[40:60] = b"\x00" * 20
    p = tmp_path / "bad.csv.gz"
    p.write_bytes(bytes(good))
    with pytest.raises(DataError, match=r"^bad.csv.gz row \d+: corrupt gzip stream"):
        load(p)
    p.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"^bad.csv.gz: not a gzip file"):
        load(p)


def test_bad_header(tmp_path: Path) -> None:
    p = write(tmp_path / NAME, candles(), header=HEADER.replace("close", "last"))
    with pytest.raises(DataError, match=r"row 1: unrecognised format"):
        load(p)
    with pytest.raises(DataError, match=rf"^{NAME} row 1: bad header: missing column\(s\) 'close'"):
        load(p, fmt="shared_ohlcv")
    kl = tmp_path / "BTCUSDT-1m-2024-01.csv"
    kl.write_text(
        "open_time,o,h,l,c,v,close_time,quote_volume,count,taker_buy_volume,"
        "taker_buy_quote_volume,ignore\n1704067200000,1,2,0.5,1.5,10,1704067259999,15,3,5,7,0\n"
    )
    with pytest.raises(DataError, match=r"^BTCUSDT-1m-2024-01.csv row 1: bad header"):
        load_binance_klines(kl, market="perp")


def test_wrong_column_count_names_the_line(tmp_path: Path) -> None:
    rows = [",".join(str(x) for x in r) for r in candles()]
    rows[20] += ",999"
    p = tmp_path / NAME
    p.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=rf"^{NAME} row 22: expected 7 columns, got 8"):
        load(p)


def test_mixed_timestamp_units(tmp_path: Path) -> None:
    lines = []
    for k in range(30):
        t = T0 + k * 60_000
        if k >= 16:
            t *= 1000  # microseconds from row 17 on
        lines.append(f"{t},42000,42010,41990,42005,1.5,{t + 59_999},63000,10,0.7,29400,0")
    p = tmp_path / "spot" / "BTCUSDT-1m-2024-01-01.csv"
    p.parent.mkdir()
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as err:
        load(p)
    us = (T0 + 16 * 60_000) * 1000
    assert str(err.value) == (
        f"BTCUSDT-1m-2024-01-01.csv row 17 column 'open_time': timestamp {us} is in us but "
        "row 1 is in ms (mixed timestamp units in one file)"
    )


def test_percent_vs_decimal_ambiguity(tmp_path: Path) -> None:
    p = tmp_path / "funding.csv"
    p.write_text("time,rate\n2024-01-01T00:00:00Z,0.0100\n2024-01-01T08:00:00Z,0.0125\n")
    with pytest.raises(DataError) as err:
        load_generic(
            p, {"ts": "time", "rate": "rate"}, kind="funding", symbol="BTCUSDT", market="perp"
        )
    assert str(err.value) == (
        "funding.csv column 'rate': cannot tell whether funding rates are decimal "
        "(0.0001 = 0.01 %) or percent (median |rate| = 0.01125); pass rate_unit='decimal' "
        "or rate_unit='percent'"
    )
    p.write_text("time,rate\n2024-01-01T00:00:00Z,0.0100%\n2024-01-01T08:00:00Z,0.000125\n")
    with pytest.raises(DataError, match=r"^funding.csv row 3 column 'rate': '0.000125' has no '%'"):
        load_generic(
            p, {"ts": "time", "rate": "rate"}, kind="funding", symbol="BTCUSDT", market="perp"
        )
    pct = tmp_path / "binance_BTCUSDT_perp_funding_pct_2024.csv"
    pct.write_text("funding_time_ms,funding_time_utc,funding_rate_pct\n1704067200000,x,0.01\n")
    with pytest.raises(DataError, match="column 'funding_rate_pct': rate_unit='decimal' was given"):
        load(pct, rate_unit="decimal")
    assert load(pct).frame.rate.iloc[0] == pytest.approx(1e-4)


def test_unsorted_rows(tmp_path: Path) -> None:
    rows = candles()
    rows[16], rows[17] = rows[17], rows[16]
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value) == (
        f"{NAME} row 19 column 'open_time_ms': timestamp 2024-01-01T00:16:00Z is earlier than "
        "row 18 (2024-01-01T00:17:00Z); the file is neither ascending nor descending "
        "(unsorted rows)"
    )


def test_newest_first_is_fine_but_a_swap_is_not(tmp_path: Path) -> None:
    rows = candles()[::-1]
    s = load(write(tmp_path / NAME, rows))
    assert s.meta["source_order"] == "descending"
    assert s.frame.index.is_monotonic_increasing and s.frame.close.iloc[0] == 42001.0
    rows[5], rows[6] = rows[6], rows[5]
    with pytest.raises(
        DataError,
        match=rf"^{NAME} row 8 column 'open_time_ms': timestamp "
        r"2024-01-01T00:34:00Z is later than row 7",
    ):
        load(write(tmp_path / NAME, rows))


def test_duplicate_timestamps(tmp_path: Path) -> None:
    rows = candles()
    rows[16][0] = rows[15][0]
    rows[16][1] = rows[15][1]
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value) == (
        f"{NAME} row 18 column 'ts': duplicate timestamp 2024-01-01T00:15:00Z "
        "(same as the previous row)"
    )


def test_nan_price(tmp_path: Path) -> None:
    rows = candles()
    rows[15][5] = ""
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value) == f"{NAME} row 17 column 'close': NaN price"


def test_negative_and_zero_prices(tmp_path: Path) -> None:
    rows = candles()
    rows[20][4] = -5.0
    rows[30][2] = 0.0
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value) == (
        f"{NAME} row 22 column 'low': non-positive price -5 (and 2 more error(s))"
    )  # the others: row 32 open 0, and that open outside [low, high]


def test_invalid_number(tmp_path: Path) -> None:
    rows = candles()
    rows[8][3] = "abc"
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value) == f"{NAME} row 10 column 'high': invalid value 'abc', expected a number"


def test_high_below_low(tmp_path: Path) -> None:
    rows = candles()
    rows[4][3], rows[4][4] = rows[4][4], rows[4][3]
    with pytest.raises(DataError) as err:
        load(write(tmp_path / NAME, rows))
    assert str(err.value).startswith(f"{NAME} row 6 column 'high': high 41999.5 < low 42009.5")


def test_negative_volume(tmp_path: Path) -> None:
    rows = candles()
    rows[2][6] = -1
    with pytest.raises(DataError, match=rf"^{NAME} row 4 column 'volume': negative quantity -1"):
        load(write(tmp_path / NAME, rows))


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "BTCUSDT-1m-2024-01-01.csv"
    p.write_text("")
    with pytest.raises(DataError, match=r"^BTCUSDT-1m-2024-01-01.csv: file is empty"):
        load_binance_klines(p, market="spot")


def test_web_export_cross_check(tmp_path: Path) -> None:
    p = tmp_path / "web.csv"
    p.write_text(
        "Time,Contracts,Funding Interval,Funding Rate,funding_time_utc,funding_rate_decimal\n"
        "2024-07-15 01:00:00,BTCUSDT Perpetual,8h,0.010000%,2024-07-15T00:00:00Z,0.0001\n"
        "2024-07-15 09:00:00,BTCUSDT Perpetual,8h,0.010000%,2024-07-15T09:00:00Z,0.0001\n"
    )
    with pytest.raises(DataError) as err:
        load(p)
    assert str(err.value) == (
        "web.csv row 3 column 'funding_time_utc': 2024-07-15T09:00:00Z disagrees with 'Time' "
        "2024-07-15 09:00:00 in Europe/London (2024-07-15T08:00:00Z)"
    )


def _ws_line(local_us: int, stream: str, data: dict) -> str:
    return f"{local_us} " + json.dumps({"stream": stream, "data": data})


def _trade(t: int, p: str) -> dict:
    return {
        "e": "trade",
        "E": t + 3,
        "T": t,
        "s": "BTCUSDT",
        "t": t,
        "p": p,
        "q": "0.010",
        "X": "MARKET",
        "m": False,
    }


def test_websocket_errors(tmp_path: Path) -> None:
    p = tmp_path / "binance_usdm_perp_BTCUSDT_raw_ws_x.dat"
    good = [
        _ws_line(1680652700000000 + k, "btcusdt@trade", _trade(1680652700000 + k, "28000.1"))
        for k in range(5)
    ]
    p.write_text("\n".join(good) + "\n")
    assert len(load_binance_ws(p)["trades"]) == 5
    bad = [*good[:3], good[3][:-5], good[4]]
    p.write_text("\n".join(bad) + "\n")
    with pytest.raises(
        DataError, match=r"^binance_usdm_perp_BTCUSDT_raw_ws_x.dat row 4: invalid JSON"
    ):
        load(p)
    back = [*good[:3], _ws_line(1680652700000003, "btcusdt@trade", _trade(1680652699000, "1.0"))]
    p.write_text("\n".join(back) + "\n")
    with pytest.raises(
        DataError,
        match=r"row 4 column 'T': exchange time 2023-04-04T23:58:19Z is "
        r"earlier than row 3",
    ):
        load(p)
    nan = [*good[:2], _ws_line(1680652700000002, "btcusdt@trade", _trade(1680652700002, "x"))]
    p.write_text("\n".join(nan) + "\n")
    with pytest.raises(DataError, match=r"row 3 column 'p': missing or invalid value 'x'"):
        load(p)
    p.write_text("17 not-json\n")
    with pytest.raises(DataError, match="row 1: invalid JSON"):
        load_binance_ws(p)


def test_tardis_errors(tmp_path: Path) -> None:
    p = tmp_path / "binance-futures_trades_2023-04-05_BTCUSDT.csv"
    p.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "binance-futures,BTCUSDT,1680652804962000,1680652804996600,1,sell,28155.1,0.001\n"
        "binance-futures,BTCUSDT,1680652804963500,1680652804998100,2,buy,,0.012\n"
    )
    with pytest.raises(DataError, match=r"row 3 column 'price': NaN price"):
        load(p)
    p.write_text(
        "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        "binance-futures,BTCUSDT,1680652804962000,1680652804996600,1,sell,28155.1,0.001\n"
        "binance-futures,BTCUSDT,1680652804963500,1680652804990000,2,buy,28155.2,0.012\n"
        "binance-futures,BTCUSDT,1680652804964500,1680652804999000,3,buy,28155.2,0.012\n"
    )
    with pytest.raises(DataError, match=r"row 3 column 'local_timestamp': .*\(unsorted rows\)"):
        load(p)


def test_validate_file_reports_instead_of_raising(tmp_path: Path) -> None:
    from gammaperp.data.validate import validate_file

    rows = candles()
    rows[15][5] = ""
    rows[30][3] = rows[30][4] - 1  # high below low
    (report,) = validate_file(write(tmp_path / NAME, rows))
    assert not report.ok
    assert [(i.row, i.column, i.message) for i in report.errors] == [
        (17, "close", "NaN price"),
        (32, "high", "high 42024.5 < low 42025.5"),
    ]
    rows = candles()
    rows[16], rows[17] = rows[17], rows[16]
    (report,) = validate_file(write(tmp_path / NAME, rows))
    assert report.n_rows == 0 and report.result is None
    (issue,) = report.issues
    assert (issue.check, issue.file, issue.row, issue.column) == (
        "load",
        NAME,
        19,
        "open_time_ms",
    )
    assert issue.message.startswith("timestamp 2024-01-01T00:16:00Z is earlier than row 18")
