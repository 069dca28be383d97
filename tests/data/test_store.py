"""The Parquet + DuckDB store: layout, merge/replace, reads, catalog, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gammaperp.data import store as store_mod
from gammaperp.data.frames import Series
from gammaperp.data.store import LIST_COLUMNS, Store, StoreError, catalog_key, default_home
from gammaperp.errors import DataError


def bars(start: str, n: int, *, step: str = "1min", base: float = 100.0, **meta) -> Series:
    idx = pd.date_range(start, periods=n, freq=step, tz="UTC", name="ts")
    close = base + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n, 2.0),
        },
        index=idx,
    )
    return Series(
        "ohlcv",
        meta.pop("venue", "binance"),
        meta.pop("symbol", "BTCUSDT"),
        meta.pop("market", "spot"),
        frame,
        source=meta.pop("source", "test.csv"),
        meta=meta,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def test_home_from_env_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMMAPERP_HOME", str(tmp_path / "h"))
    assert Store().home == tmp_path / "h"
    assert Store().catalog_path == tmp_path / "h" / "catalog.duckdb"
    monkeypatch.delenv("GAMMAPERP_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_home() == tmp_path / "user" / ".gammaperp"


def test_round_trip_exact(store):
    s = bars("2023-03-01", 10, bar_seconds=60)
    res = store.put(s)
    assert res.key == "binance:BTCUSDT:spot:ohlcv:1m"
    assert (res.rows_in, res.rows_new, res.rows_total) == (10, 10, 10)
    assert res.first == pd.Timestamp("2023-03-01 00:00", tz="UTC")
    assert res.last == pd.Timestamp("2023-03-01 00:09", tz="UTC")
    assert res.files == ("parquet/binance/spot/BTCUSDT/ohlcv-1m/2023.parquet",)
    got = store.get("btcusdt")
    assert (got.kind, got.venue, got.symbol, got.market) == ("ohlcv", "binance", "BTCUSDT", "spot")
    assert got.meta["bar_seconds"] == 60
    assert got.meta["store_key"] == res.key
    expected = s.frame.copy()
    expected.index = expected.index.as_unit("ns")  # the store always returns ns
    pd.testing.assert_frame_equal(got.frame, expected, check_freq=False)
    assert str(got.frame.index.dtype) == "datetime64[ns, UTC]"
    assert got.frame.index.name == "ts"


def test_year_partitions_and_parquet_schema(store):
    s = bars("2022-12-31 23:58", 5)  # 2 rows in 2022, 3 in 2023; bar size inferred
    res = store.put(s)
    assert res.files == (
        "parquet/binance/spot/BTCUSDT/ohlcv-1m/2022.parquet",
        "parquet/binance/spot/BTCUSDT/ohlcv-1m/2023.parquet",
    )
    t22 = pq.read_table(store.home / res.files[0])
    t23 = pq.read_table(store.home / res.files[1])
    assert (t22.num_rows, t23.num_rows) == (2, 3)
    assert t22.column_names == ["ts", "open", "high", "low", "close", "volume"]
    assert str(t22.schema.field("ts").type) == "timestamp[ns, tz=UTC]"
    assert b"gammaperp" in t22.schema.metadata
    df = store.list()
    assert df.loc[0, "n_files"] == 2
    assert df.loc[0, "rows"] == 5


def test_merge_deduplicates_on_ts_new_rows_win(store):
    store.put(bars("2023-01-01", 10))
    newer = bars("2023-01-01 00:05", 10, base=1000.0)
    res = store.put(newer)
    assert (res.rows_in, res.rows_new, res.rows_total) == (10, 5, 15)
    got = store.get("BTCUSDT").frame
    assert len(got) == 15
    assert got.index.is_monotonic_increasing and got.index.is_unique
    assert got["close"].iloc[4] == 104.0  # old row kept
    assert got["close"].iloc[5] == 1000.0  # overlapping rows replaced by the new ones
    assert got["close"].iloc[14] == 1009.0


def test_merge_older_chunk_and_duplicates_inside_one_put(store):
    store.put(bars("2023-01-01 01:00", 3))
    older = bars("2023-01-01 00:00", 3)
    res = store.put(older)
    assert res.rows_total == 6
    assert res.first == pd.Timestamp("2023-01-01 00:00", tz="UTC")
    # a series repeating a timestamp keeps the last row given
    f = bars("2024-01-01", 3).frame
    dup = pd.concat([f, f.iloc[[1]].assign(close=555.0)])
    store.put(Series("ohlcv", "binance", "ETHUSDT", "spot", dup, meta={"bar_seconds": 60}))
    got = store.get("ETHUSDT").frame
    assert list(got["close"]) == [100.0, 555.0, 102.0]


def test_replace_mode_drops_stale_years(store):
    store.put(bars("2022-12-31 23:58", 5))
    res = store.put(bars("2023-06-01", 4), mode="replace")
    assert res.rows_total == 4 and res.rows_new == 4
    files = sorted(p.name for p in (store.home / "parquet").rglob("*.parquet"))
    assert files == ["2023.parquet"]
    assert len(store.get("BTCUSDT").frame) == 4


def test_get_time_range_and_columns(store):
    store.put(bars("2023-12-31 23:50", 30))  # 10 rows in 2023, 20 in 2024
    got = store.get("BTCUSDT", start="2023-12-31 23:55", end="2024-01-01 00:05")
    assert len(got) == 10  # end is exclusive
    assert got.frame.index[0] == pd.Timestamp("2023-12-31 23:55", tz="UTC")
    assert got.frame.index[-1] == pd.Timestamp("2024-01-01 00:04", tz="UTC")
    only = store.get("BTCUSDT", start=pd.Timestamp("2024-01-01", tz="UTC"), columns=["close"])
    assert list(only.frame.columns) == ["close"]
    assert len(only) == 20
    assert only.frame["close"].iloc[0] == 110.0
    empty = store.get("BTCUSDT", start="2025-01-01")
    assert len(empty) == 0 and list(empty.frame.columns) == [
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    with pytest.raises(StoreError, match="no column"):
        store.get("BTCUSDT", columns=["vwap"])


def test_lookup_errors_name_what_is_stored(store):
    store.put(bars("2023-01-01", 5))
    store.put(bars("2023-01-01", 5, step="5min"))
    with pytest.raises(StoreError) as exc:
        store.get("BTCUSDT")
    msg = str(exc.value)
    assert "2 stored ohlcv series match BTCUSDT" in msg
    assert "binance:BTCUSDT:spot:ohlcv:1m" in msg and "binance:BTCUSDT:spot:ohlcv:5m" in msg
    assert len(store.get("BTCUSDT", bar="5m")) == 5
    with pytest.raises(StoreError, match="no stored ohlcv series for ETHUSDT"):
        store.get("ETHUSDT")
    with pytest.raises(StoreError, match=r"no stored funding series for BTCUSDT.*ohlcv:1m"):
        store.get("BTCUSDT", kind="funding")
    with pytest.raises(StoreError, match="mode must be one of merge, replace"):
        store.put(bars("2023-01-01", 2), mode="append")


def test_list_info_and_imports(store):
    store.put(bars("2023-01-01", 5), source="a.csv")
    store.put(bars("2023-01-01 00:05", 5), source="b.csv")
    fund = pd.DataFrame(
        {"rate": [0.0001, -0.0002]},
        index=pd.DatetimeIndex(["2023-01-01 00:00", "2023-01-01 08:00"], tz="UTC", name="ts"),
    )
    store.put(Series("funding", "binance", "BTCUSDT", "perp", fund, "f.csv", {"interval_hours": 8}))
    df = store.list()
    assert list(df.columns) == list(LIST_COLUMNS)
    assert list(df["key"]) == ["binance:BTCUSDT:perp:funding", "binance:BTCUSDT:spot:ohlcv:1m"]
    row = df.iloc[1]
    assert row["rows"] == 10
    assert row["interval"] == "1m" and row["bar_seconds"] == 60
    assert row["first"] == pd.Timestamp("2023-01-01 00:00", tz="UTC")
    assert row["last"] == pd.Timestamp("2023-01-01 00:09", tz="UTC")
    assert row["sources"] == "a.csv; b.csv"
    assert row["path"] == "parquet/binance/spot/BTCUSDT/ohlcv-1m"
    assert isinstance(row["imported_at"], pd.Timestamp)
    assert pd.isna(df.iloc[0]["bar_seconds"]) and df.iloc[0]["rows"] == 2
    info = store.info("btcusdt", kind="funding")
    assert list(info["key"]) == ["binance:BTCUSDT:perp:funding"]
    got = store.get("BTCUSDT", kind="funding")
    assert got.meta["interval_hours"] == 8
    assert list(got.frame["rate"]) == [0.0001, -0.0002]
    hist = store.imports("binance:BTCUSDT:spot:ohlcv:1m")
    assert list(hist["source"]) == ["a.csv", "b.csv"]
    assert list(hist["rows_new"]) == [5, 5]


def test_schema_evolution_adds_columns(store):
    store.put(bars("2023-01-01", 3))
    s = bars("2023-01-01 00:03", 2)
    frame = s.frame.assign(mark=[200.0, 201.0], flag=[True, False])
    store.put(Series("ohlcv", "binance", "BTCUSDT", "spot", frame))
    got = store.get("BTCUSDT").frame
    assert list(got.columns) == ["open", "high", "low", "close", "volume", "mark", "flag"]
    assert np.isnan(got["mark"].iloc[:3]).all()
    assert list(got["mark"].iloc[3:]) == [200.0, 201.0]


def test_trades_merge_replaces_the_new_span(store):
    ts = pd.DatetimeIndex(
        [
            "2023-04-05 00:00:00.001",
            "2023-04-05 00:00:00.001",
            "2023-04-05 00:00:01",
            "2023-04-05 00:00:02",
        ],
        tz="UTC",
        name="ts",
    )
    frame = pd.DataFrame({"price": [1.0, 2.0, 3.0, 4.0], "qty": 1.0, "side": 1.0}, index=ts)
    res = store.put(Series("trades", "binance", "BTCUSDT", "perp", frame))
    assert res.key == "binance:BTCUSDT:perp:trades" and res.rows_total == 4  # equal ts kept
    again = frame.iloc[2:3].assign(price=30.0)  # replaces rows inside [00:00:01, 00:00:01]
    store.put(Series("trades", "binance", "BTCUSDT", "perp", again))
    got = store.get("BTCUSDT", kind="trades").frame
    assert list(got["price"]) == [1.0, 2.0, 30.0, 4.0]


def test_crash_during_write_leaves_old_file_and_catalog(store, monkeypatch):
    store.put(bars("2023-01-01", 5))
    path = store.home / "parquet/binance/spot/BTCUSDT/ohlcv-1m/2023.parquet"
    before = path.read_bytes()
    real = store_mod.pq.write_table

    def half_then_crash(table, where, **kw):
        real(table.slice(0, 1), where, **kw)  # something got written to the temp file ...
        raise OSError("disk full")  # ... then the process "crashes"

    monkeypatch.setattr(store_mod.pq, "write_table", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        store.put(bars("2023-01-01 00:05", 5))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["2023.parquet"]  # no temp file left behind
    assert store.list().loc[0, "rows"] == 5
    assert len(store.get("BTCUSDT")) == 5


def test_temp_files_are_ignored_and_reindex_rebuilds(store):
    store.put(bars("2022-12-31 23:58", 5), source="x.csv")
    kdir = store.home / "parquet/binance/spot/BTCUSDT/ohlcv-1m"
    (kdir / ".2023.parquet.abc.tmp").write_bytes(b"PAR1 half written")
    before = store.list().drop(columns=["imported_at", "sources"])
    store.catalog_path.unlink()
    assert store.list().empty
    assert store.reindex() == ["binance:BTCUSDT:spot:ohlcv:1m"]
    after = store.list().drop(columns=["imported_at", "sources"])
    pd.testing.assert_frame_equal(before, after)
    assert len(store.get("BTCUSDT")) == 5


def test_delete_and_empty_put(store):
    store.put(bars("2023-01-01", 5))
    empty = bars("2023-01-01", 0, bar_seconds=60)
    res = store.put(empty)
    assert (res.rows_in, res.rows_total) == (0, 5)
    assert store.delete("binance:BTCUSDT:spot:ohlcv:1m") == 5
    assert store.keys() == []
    assert list((store.home / "parquet").rglob("*.parquet")) == []
    with pytest.raises(StoreError, match="no stored series"):
        store.delete("binance:BTCUSDT:spot:ohlcv:1m")


def test_bad_input_is_rejected(store):
    naive = bars("2023-01-01", 3).frame.tz_localize(None)
    with pytest.raises(DataError, match="timezone-aware"):
        store.put(Series("ohlcv", "binance", "BTCUSDT", "spot", naive))
    no_close = bars("2023-01-01", 3).frame.drop(columns=["close"])
    with pytest.raises(DataError, match="missing required column"):
        store.put(Series("ohlcv", "binance", "BTCUSDT", "spot", no_close))


def test_catalog_key_rules():
    s = bars("2023-01-01", 3, step="1h")
    assert catalog_key(s) == "binance:BTCUSDT:spot:ohlcv:1h"
    iv = Series(
        "iv",
        "deribit",
        "BTC",
        "index",
        pd.DataFrame({"iv": [0.5]}, index=pd.DatetimeIndex(["2023-01-01"], tz="UTC", name="ts")),
        meta={"bar_seconds": 86400},
    )
    assert catalog_key(iv) == "deribit:BTC:index:iv:1d"


def test_catalog_locked_by_another_process(tmp_path):
    import subprocess
    import sys

    store = Store(tmp_path / "home", lock_timeout=0.2)
    store.put(bars("2023-01-01", 2))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(store.catalog_path)!r})\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match="is in use by another process"):
            store.put(bars("2023-01-01 00:02", 2))
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert store.put(bars("2023-01-01 00:02", 2)).rows_total == 4


def test_integer_columns_stay_exact(store):
    ts = pd.DatetimeIndex(["2023-04-05 00:00:04.962", "2023-04-05 00:00:04.964"], tz="UTC")
    local = np.array([1680652804962123457, 1680652804964999999], dtype=np.int64)
    frame = pd.DataFrame(
        {
            "price": [28155.1, 28155.2],
            "qty": [0.001, 0.012],
            "side": [-1.0, 1.0],
            "trade_id": np.array([3535188001, 3535188002]),
            "local_ts": local,
        },
        index=ts.rename("ts"),
    )
    store.put(Series("trades", "binance", "BTCUSDT", "perp", frame))
    got = store.get("BTCUSDT", kind="trades").frame
    assert got["local_ts"].dtype == np.int64
    assert list(got["local_ts"]) == list(local)  # float64 would lose the last digits
    assert list(got["trade_id"]) == [3535188001, 3535188002]


def test_incompatible_columns_are_a_clear_error(store):
    store.put(
        bars("2023-01-01", 3)
        .frame.assign(tag="a")
        .pipe(lambda f: Series("ohlcv", "binance", "BTCUSDT", "spot", f))
    )
    clash = bars("2023-01-01 00:01", 3).frame.assign(tag=[1, 2, 3])
    with pytest.raises(StoreError, match=r"do not fit the stored ones in parquet/binance"):
        store.put(Series("ohlcv", "binance", "BTCUSDT", "spot", clash))
    with pytest.raises(StoreError, match="compression must be one of"):
        Store(store.home, compression="lzma")
