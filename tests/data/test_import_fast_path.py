"""The optimised import path (``load`` -> ``Store.put``) keeps every check and names the right
source line: large files parsed straight from disk, line numbers computed only when a
message needs one, one-pass validation shortcuts, pre-encoded Parquet files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gammaperp.data import store as store_mod
from gammaperp.data.frames import Series
from gammaperp.data.loaders import load
from gammaperp.data.loaders._common import (
    DEFER_MIN_BYTES,
    SourceLines,
    _data_line_numbers,
    collect_line_numbers,
    epoch_to_ns,
    finish,
    read_source,
)
from gammaperp.data.store import Store, StoreError
from gammaperp.data.validate import validate, validate_file
from gammaperp.errors import DataError

T0 = 1_672_531_200_000  # 2023-01-01 00:00 UTC, ms
HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
N_ROWS = 30_000  # ~2.3 MB: above DEFER_MIN_BYTES, so parsed straight from the file
BLANK_AFTER = (5, 12_000, 20_000)  # data rows followed by an empty line


# the arguments every direct ``finish`` call below shares
FINISH_KW = dict(
    name="f.csv",
    ts_column="t",
    kind="ohlcv",
    venue="binance",
    symbol="BTCUSDT",
    market="spot",
    source="f.csv",
)


def kline_rows(n: int = N_ROWS) -> list[str]:
    rows = []
    for k in range(n):
        t = T0 + 60_000 * k
        c = 20_000.0 + (k % 97) * 0.5
        rows.append(
            f"{t},{c - 0.5},{c + 1.0},{c - 1.0},{c},{10 + k % 7}.5,{t + 59_999},"
            f"{(10 + k % 7) * c:.2f},{100 + k % 50},1.25,{1.25 * c:.2f},0"
        )
    return rows


def write_klines(path: Path, rows: list[str], blank_after=BLANK_AFTER, crlf_blank=False):
    """Write header + rows (blank lines after the given 0-based rows); returns the 1-based
    source line of every data row, counted independently of the loader's code."""
    out, lines, line = [HEADER], [], 1
    for k, r in enumerate(rows):
        out.append(r)
        line += 1
        lines.append(line)
        if k in blank_after:
            out.append("\r" if crlf_blank else "")
            line += 1
    path.write_text("\n".join(out) + "\n")
    assert path.stat().st_size >= DEFER_MIN_BYTES or len(rows) < N_ROWS
    return lines


def test_large_file_is_parsed_from_disk_and_lines_stay_unscanned(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, kline_rows())
    raw = read_source(path)
    assert raw.path == path  # not read into memory: the parser reads the file
    assert raw.head == path.read_bytes()[: len(raw.head)]
    with collect_line_numbers() as sink:
        s = load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert len(s) == N_ROWS and s.frame["close"].iloc[-1] == 20_000.0 + ((N_ROWS - 1) % 97) * 0.5
    got = sink[id(s)]
    assert isinstance(got, SourceLines) and "not scanned" in repr(got)  # no error: no scan
    assert np.asarray(got).tolist() == lines  # ... and right when asked for
    assert "scanned" in repr(got) and "not" not in repr(got)


@pytest.mark.parametrize("crlf_blank", [False, True])
def test_bad_cell_deep_in_a_large_file_names_its_line(tmp_path: Path, crlf_blank) -> None:
    rows = kline_rows()
    k = 25_000
    cells = rows[k].split(",")
    cells[4] = "12x.5"  # close
    rows[k] = ",".join(cells)
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows, crlf_blank=crlf_blank)
    with pytest.raises(DataError) as err:
        load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert str(err.value) == (
        f"BTCUSDT-1m-2023.csv row {lines[k]} column 'close': invalid value '12x.5', "
        "expected a number"
    )
    assert lines[k] == k + 2 + 3  # header + 3 blank lines before it


def test_wrong_column_count_deep_in_a_large_file(tmp_path: Path) -> None:
    rows = kline_rows()
    rows[21_000] = ",".join(rows[21_000].split(",")[:11])
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows)
    with pytest.raises(DataError, match=rf"row {lines[21_000]}: expected 12 columns, got 11"):
        load(path, venue="binance", symbol="BTCUSDT", market="perp")


@pytest.mark.parametrize(
    ("k", "edit", "message"),
    [
        (
            26_000,
            lambda c: c.__setitem__(2, str(float(c[3]) - 5)),  # high below low
            "column 'high': high",
        ),
        (27_000, lambda c: c.__setitem__(4, "-3.0"), "column 'close': non-positive price -3"),
        (28_000, lambda c: c.__setitem__(5, "-1.0"), "column 'volume': negative quantity -1"),
        (29_000, lambda c: c.__setitem__(1, "NaN"), "column 'open': NaN price"),
    ],
)
def test_validation_error_deep_in_a_large_file_names_its_line(tmp_path, k, edit, message):
    rows = kline_rows()
    cells = rows[k].split(",")
    edit(cells)
    rows[k] = ",".join(cells)
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows)
    with pytest.raises(DataError) as err:
        load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert str(err.value).startswith(f"BTCUSDT-1m-2023.csv row {lines[k]} {message}")


def test_unsorted_and_duplicate_rows_deep_in_a_large_file(tmp_path: Path) -> None:
    rows = kline_rows()
    rows[22_000], rows[22_001] = rows[22_001], rows[22_000]
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows)
    with pytest.raises(DataError) as err:
        load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert str(err.value).startswith(f"BTCUSDT-1m-2023.csv row {lines[22_001]} column 'open_time'")
    assert f"than row {lines[22_000]} " in str(err.value)

    rows = kline_rows()
    rows[23_001] = rows[23_000]
    lines = write_klines(path, rows)
    with pytest.raises(DataError) as err:
        load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert str(err.value).startswith(
        f"BTCUSDT-1m-2023.csv row {lines[23_001]} column 'ts': duplicate timestamp"
    )


def test_mixed_timestamp_units_deep_in_a_large_file(tmp_path: Path) -> None:
    rows = kline_rows()
    cells = rows[24_000].split(",")
    cells[0] = str(int(cells[0]) * 1000)  # microseconds among milliseconds
    rows[24_000] = ",".join(cells)
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows)
    with pytest.raises(DataError) as err:
        load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert str(err.value).startswith(f"BTCUSDT-1m-2023.csv row {lines[24_000]} column 'open_time'")
    assert "is in us but row 2 is in ms" in str(err.value)


def test_gap_warning_and_validate_file_rows_in_a_large_file(tmp_path: Path) -> None:
    rows = kline_rows()
    del rows[15_000:15_003]  # three missing bars
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    lines = write_klines(path, rows)
    s = load(path, venue="binance", symbol="BTCUSDT", market="perp")
    assert len(s) == N_ROWS - 3
    (report,) = validate_file(path, venue="binance", symbol="BTCUSDT", market="perp")
    (gap,) = [i for i in report.issues if i.check == "gap"]
    assert gap.row == lines[15_000] and gap.position == 15_000
    assert "gap of 3 missing 1min interval(s)" in gap.message


def test_file_changed_after_it_was_opened(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2023.csv"
    write_klines(path, kline_rows())
    raw = read_source(path)
    with path.open("a") as fh:  # another program appends meanwhile
        fh.write(kline_rows(1)[0] + "\n")
    with pytest.raises(DataError, match=r"BTCUSDT-1m-2023\.csv: the file changed while"):
        raw.data  # noqa: B018


def test_small_and_compressed_files_are_read_up_front(tmp_path: Path) -> None:
    small = tmp_path / "BTCUSDT-1m-2023-01.csv"
    write_klines(small, kline_rows(100), blank_after=())
    raw = read_source(small)
    assert raw.path is None and raw.data == small.read_bytes()


def test_source_lines_behave_like_the_array() -> None:
    data = b"h\n1\n\n2\n3\r\n\r\n4\n5\n\n\n6\n"
    calls = []

    def fetch() -> bytes:
        calls.append(1)
        return data

    eager = _data_line_numbers(data, 2, 6)
    assert eager.tolist() == [2, 4, 5, 7, 8, 11]
    lazy = SourceLines(fetch, 2, 6)
    assert len(lazy) == 6 and calls == []
    perm = np.array([5, 4, 3, 2, 1, 0])
    rev = lazy[perm]
    assert len(rev) == 6 and calls == []  # composing rows does not scan
    assert int(rev[0]) == 11 and calls == [1]
    assert rev[-1] == 2 and lazy[-2] == 8 and lazy[3] == eager[3]
    assert np.asarray(rev).tolist() == eager[perm].tolist()
    assert list(lazy[1:4]) == eager[1:4].tolist()
    assert np.asarray(lazy[eager > 4]).tolist() == [5, 7, 8, 11]
    assert np.asarray(rev[[0, 2]], dtype=np.int64).tolist() == [11, 7]
    assert calls == [1]  # scanned once, shared by every derived object
    with pytest.raises(IndexError):
        lazy[6]


def test_epoch_to_ns_shortcut_keeps_the_checks() -> None:
    lines = np.arange(2, 8)
    ms = np.array([T0 + 60_000 * k for k in range(6)], dtype=np.int64)
    ns, unit = epoch_to_ns(ms, "f.csv", "t", lines)
    assert unit == "ms" and ns.tolist() == (ms * 1_000_000).tolist()
    bad = ms.copy()
    bad[4] //= 1000  # seconds among ms
    with pytest.raises(DataError, match=r"f.csv row 6 column 't': timestamp .* is in s but row 2"):
        epoch_to_ns(bad, "f.csv", "t", lines)
    bad = ms.astype(float)
    bad[3] = np.nan
    with pytest.raises(DataError, match=r"f\.csv row 5 column 't': missing timestamp"):
        epoch_to_ns(bad, "f.csv", "t", lines)
    bad = ms.copy()
    bad[5] = 0
    with pytest.raises(DataError, match=r"f\.csv row 7 column 't': non-positive"):
        epoch_to_ns(bad, "f.csv", "t", lines)


def _finish(cols: dict, ts: np.ndarray, **kw) -> Series:
    out = finish(
        cols,
        ts,
        np.arange(2, 2 + len(ts)),
        **FINISH_KW,
        **kw,
    )
    assert isinstance(out, Series)
    return out


def test_finish_frames_own_writable_unshared_columns() -> None:
    n = 5
    ts = (T0 + 60_000 * np.arange(n)) * 1_000_000
    close = np.linspace(100.0, 104.0, n)
    for owned in (False, True):
        shared = np.full(n, 2.0)
        readonly = close.copy()
        readonly.flags.writeable = False
        cols = {"open": close, "high": close + 1, "low": close - 1, "close": readonly}
        cols |= {"volume": shared, "quote_volume": shared}  # the same array twice
        s = _finish(cols, ts, owned_columns=owned)
        f = s.frame
        arrays = [f[c].to_numpy() for c in f.columns]
        for i, a in enumerate(arrays):
            assert not np.shares_memory(a, readonly)
            assert all(not np.shares_memory(a, b) for b in arrays[i + 1 :])
        if not owned:
            assert all(not np.shares_memory(a, close) for a in arrays)
        f.loc[f.index[1], "close"] = 1.0  # the frame is writable ...
        f.loc[f.index[1], "volume"] = 9.0
        assert readonly[1] == close[1]  # ... a read-only input is never adopted ...
        assert f["quote_volume"].iloc[1] == 2.0  # ... nor one array for two columns
        if not owned:  # without owned_columns every input is copied
            assert shared[1] == 2.0


def test_finish_reverses_newest_first_rows_with_lazy_lines() -> None:
    n = 4
    ts = ((T0 + 60_000 * np.arange(n)) * 1_000_000)[::-1].copy()
    c = np.array([4.0, 3.0, 2.0, 1.0])
    lazy = SourceLines(b"h\n1\n2\n\n3\n4\n", 2, n)
    s = finish(
        {"open": c, "high": c + 1, "low": c - 0.5, "close": c, "volume": c},
        ts,
        lazy,
        **FINISH_KW,
        check=False,
    )
    assert s.frame["close"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert s.meta["source_order"] == "descending"
    c2 = c.copy()
    c2[1] = -1.0  # row 2 of the data (source line 3), newest first
    with pytest.raises(DataError, match=r"f\.csv row 3 column 'close': non-positive price -1"):
        finish(
            {"open": c, "high": c + 1, "low": c - 0.5, "close": c2, "volume": c},
            ts,
            lazy,
            **FINISH_KW,
        )


def _reference_value_issues(f: pd.DataFrame) -> set[tuple[str, int, str]]:
    """The value checks as the one-pass shortcuts must reproduce them (plain formulas)."""
    out: set[tuple[str, int, str]] = set()
    for c in ("open", "high", "low", "close"):
        v = f[c].to_numpy()
        out |= {("nan", int(p), c) for p in np.flatnonzero(np.isnan(v))}
        with np.errstate(invalid="ignore"):
            out |= {("nonpositive", int(p), c) for p in np.flatnonzero(v <= 0)}
    v = f["volume"].to_numpy()
    out |= {("nan", int(p), "volume") for p in np.flatnonzero(np.isnan(v))}
    with np.errstate(invalid="ignore"):
        out |= {("negative", int(p), "volume") for p in np.flatnonzero(v < 0)}
        out |= {("zero_volume", int(p), "volume") for p in np.flatnonzero(v == 0)}
        o, h, lo, c = (f[x].to_numpy() for x in ("open", "high", "low", "close"))
        tol = 1e-9 * np.abs(h)
        hl = h < lo - tol
        out |= {("ohlc", int(p), "high") for p in np.flatnonzero(hl)}
        out |= {
            ("ohlc", int(p), "close")
            for p in np.flatnonzero(((c > h + tol) | (c < lo - tol)) & ~hl)
        }
        out |= {
            ("ohlc", int(p), "open") for p in np.flatnonzero(((o > h + tol) | (o < lo - tol)) & ~hl)
        }
    return out


@pytest.mark.parametrize("seed", range(6))
def test_value_check_shortcuts_match_the_plain_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    close = 100 + rng.normal(0, 1, n).cumsum()
    frame = pd.DataFrame(
        {
            "open": close + rng.normal(0, 0.3, n),
            "close": close,
            "volume": rng.gamma(2.0, 1.0, n),
        },
        index=pd.date_range("2023-01-01", periods=n, freq="1min", tz="UTC", name="ts"),
    )
    frame["high"] = frame[["open", "close"]].max(axis=1) + 0.1
    frame["low"] = frame[["open", "close"]].min(axis=1) - 0.1
    if seed:  # seed 0 stays clean: the shortcut path alone
        for _ in range(12):
            col = str(rng.choice(["open", "high", "low", "close", "volume"]))
            p = int(rng.integers(n))
            frame.loc[frame.index[p], col] = float(
                rng.choice([np.nan, 0.0, -1.0, 1e6, frame[col].iloc[p] * 1.01])
            )
    s = Series("ohlcv", "binance", "BTCUSDT", "spot", frame, meta={"bar_seconds": 60})
    report = validate(s, outlier_sigma=None)
    got = {(i.check, i.position, i.column) for i in report.issues if i.check != "gap"}
    assert got == _reference_value_issues(frame)


def _bars(start: str, n: int) -> Series:
    idx = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="ts")
    close = 100.0 + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
        index=idx,
    )
    return Series("ohlcv", "binance", "BTCUSDT", "spot", frame, source="t.csv")


def test_parquet_encodings_and_exact_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    s = _bars("2023-03-01", 1000)
    store.put(s)
    path = store.home / "parquet/binance/spot/BTCUSDT/ohlcv-1m/2023.parquet"
    md = pq.ParquetFile(path).metadata
    names = md.schema.names
    enc = {names[i]: md.row_group(0).column(i).encodings for i in range(md.num_columns)}
    assert "DELTA_BINARY_PACKED" in enc["ts"]
    assert all("BYTE_STREAM_SPLIT" in enc[c] for c in ("open", "close", "volume"))
    assert md.row_group(0).column(0).compression == "LZ4"
    want = s.frame.set_axis(s.frame.index.as_unit("ns"), axis=0)
    pd.testing.assert_frame_equal(store.get("BTCUSDT").frame, want, check_freq=False)


def test_year_file_written_meanwhile_is_merged_not_overwritten(tmp_path, monkeypatch) -> None:
    """The new year file is pre-encoded before the catalog lock is taken; if another writer
    creates that year file in between, the put merges with it instead of replacing it."""
    home = tmp_path / "home"
    store = Store(home)
    real_connect = Store._connect
    raced = []

    def connect_after_another_writer(self):
        if not raced:
            raced.append(1)
            Store(home).put(_bars("2023-01-01 00:00", 10))  # lands while ours pre-encodes
        return real_connect(self)

    monkeypatch.setattr(Store, "_connect", connect_after_another_writer)
    res = store.put(_bars("2023-01-01 00:05", 10))
    assert raced and (res.rows_total, res.rows_new) == (15, 5)
    got = store.get("BTCUSDT").frame
    assert len(got) == 15 and got.index.is_unique and got.index.is_monotonic_increasing
    kdir = home / "parquet/binance/spot/BTCUSDT/ohlcv-1m"
    assert sorted(os.listdir(kdir)) == ["2023.parquet"]  # the pre-encoded temp is gone


def test_failed_put_leaves_no_temp_file(tmp_path, monkeypatch) -> None:
    store = Store(tmp_path / "home")

    def locked(self):
        raise StoreError("catalog is in use by another process")

    monkeypatch.setattr(Store, "_connect", locked)
    with pytest.raises(StoreError, match="in use"):
        store.put(_bars("2023-01-01", 10))
    assert [p for p in (tmp_path / "home").rglob("*") if p.is_file()] == []


def test_prewrite_error_surfaces_and_cleans_up(tmp_path, monkeypatch) -> None:
    store = Store(tmp_path / "home")
    real = store_mod.pq.write_table

    def disk_full(table, where, **kw):
        real(table.slice(0, 1), where, **kw)
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.pq, "write_table", disk_full)
    with pytest.raises(OSError, match="disk full"):
        store.put(_bars("2023-01-01", 10))
    monkeypatch.undo()
    assert list((tmp_path / "home").rglob("*.tmp")) == []
    assert list((tmp_path / "home").rglob("*.parquet")) == []
    assert store.keys() == []
