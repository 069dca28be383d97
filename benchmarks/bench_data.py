"""Benchmark of the data store: CSV -> Parquet import and load into aligned numpy arrays.

Generates a year of 1-minute bars (525,600 rows) as a Binance-style kline CSV (Binance Vision
layout with header: open_time, open, high, low, close, volume, close_time, quote_volume,
count, taker_buy_volume, taker_buy_quote_volume, ignore) in a temporary directory, then
measures

* ``import CSV->Parquet``: the path users take, what ``gammaperp data import`` runs:
  ``gammaperp.data.loaders.load`` (format detection, parsing checks, load-time validation
  naming file/row/column) -> ``Store.put`` into a fresh store. This is the figure held to the
  target of >= 2,000,000 rows/s. Its CPU time (all threads, ``time.process_time``) is shown
  too: on a shared machine it says more than the wall time about the code;
* ``reference: pyarrow only``: a bare ``pyarrow.csv`` read of the columns used -> ``Series``
  -> ``Store.put``, with no detection and no checks. Not a product path: a floor to compare
  the real path against;
* ``load``: ``Store.get`` of the stored year + ``align`` into numpy arrays (target <= 0.5 s).

Each figure is the best of ``--repeat`` runs (files are in the page cache after the first).
The load average before and after the runs is printed: other jobs on the machine slow the
parse down (pyarrow parses on every core).

    python benchmarks/bench_data.py [--rows 525600] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from gammaperp.data.frames import Series
from gammaperp.data.loaders import load
from gammaperp.data.resample import align
from gammaperp.data.store import Store

IMPORT_TARGET_ROWS_PER_S = 2_000_000
LOAD_TARGET_S = 0.5
KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)


def write_klines_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A year (by default) of plausible BTCUSDT 1m klines from 2023-01-01, Binance layout."""
    rng = np.random.default_rng(seed)
    open_ms = 1_672_531_200_000 + 60_000 * np.arange(rows, dtype=np.int64)
    close = np.round(20_000.0 * np.exp(np.cumsum(rng.normal(0.0, 6e-4, rows))), 2)
    open_ = np.round(np.r_[close[0], close[:-1]], 2)
    wig = np.abs(rng.normal(0.0, 4e-4, rows))
    high = np.round(np.maximum(open_, close) * (1 + wig), 2)
    low = np.round(np.minimum(open_, close) * (1 - wig), 2)
    volume = np.round(rng.gamma(2.0, 20.0, rows), 3)
    table = pa.table(
        {
            "open_time": open_ms,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "close_time": open_ms + 59_999,
            "quote_volume": np.round(volume * close, 4),
            "count": rng.integers(100, 5000, rows),
            "taker_buy_volume": np.round(volume * 0.5, 3),
            "taker_buy_quote_volume": np.round(volume * 0.5 * close, 4),
            "ignore": np.zeros(rows, dtype=np.int64),
        }
    )
    with open(path, "wb") as fh:  # unquoted header, as in Binance's files
        fh.write((",".join(KLINE_COLUMNS) + "\n").encode())
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False))


def read_klines_fast(path: Path) -> Series:
    """Reference only (no product code uses it): pyarrow.csv -> canonical ohlcv Series
    (ts = open time, float64 columns), without format detection, checks or validation."""
    want = ["open_time", "open", "high", "low", "close", "volume", "quote_volume", "count"]
    types = {c: pa.float64() for c in want[1:]}
    types["open_time"] = pa.int64()
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(include_columns=want, column_types=types),
    )
    ts = table.column("open_time").to_numpy() * 1_000_000
    index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ns", utc=True), name="ts")
    data = {
        name: table.column(src).to_numpy()
        for name, src in (
            ("open", "open"),
            ("high", "high"),
            ("low", "low"),
            ("close", "close"),
            ("volume", "volume"),
            ("quote_volume", "quote_volume"),
            ("n_trades", "count"),
        )
    }
    frame = pd.DataFrame(data, index=index, copy=False)
    return Series(
        "ohlcv",
        "binance",
        "BTCUSDT",
        "perp",
        frame,
        source=str(path),
        meta={"bar_seconds": 60, "volume_unit": "base"},
    )


def _best(fn: Any, repeat: int) -> tuple[float, float, Any]:
    """(best wall time, best CPU time of all threads, last result) over ``repeat`` runs."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def _loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not on every platform
        return None


def run(rows: int = 525_600, repeat: int = 5, compression: str | None = None) -> dict[str, Any]:
    opts: dict[str, Any] = {} if compression is None else {"compression": compression}
    with tempfile.TemporaryDirectory(prefix="gammaperp-bench-") as tmp:
        tmpdir = Path(tmp)
        csv_path = tmpdir / "BTCUSDT-1m-2023.csv"
        write_klines_csv(csv_path, rows)
        counter = iter(range(1_000_000))
        load_before = _loadavg()

        def import_real() -> Any:  # what `gammaperp data import FILE` does per file
            store = Store(tmpdir / f"home-{next(counter)}", **opts)
            loaded = load(csv_path, venue="binance", symbol="BTCUSDT", market="perp")
            series = loaded[0] if isinstance(loaded, list) else loaded
            return store.put(series)

        t_real, cpu_real, res = _best(import_real, repeat)
        assert res.rows_total == rows
        real_home = tmpdir / "home-0"

        def import_reference() -> Any:
            store = Store(tmpdir / f"home-{next(counter)}", **opts)
            return store.put(read_klines_fast(csv_path))

        t_ref, cpu_ref, res_ref = _best(import_reference, repeat)
        assert res_ref.rows_total == rows
        out: dict[str, Any] = {
            "rows": rows,
            "compression": Store(tmpdir, **opts).compression,
            "csv_bytes": csv_path.stat().st_size,
            "import_s": round(t_real, 4),
            "import_cpu_s": round(cpu_real, 4),
            "import_rows_per_s": round(rows / t_real),
            "reference_pyarrow_s": round(t_ref, 4),
            "reference_pyarrow_cpu_s": round(cpu_ref, 4),
            "reference_pyarrow_rows_per_s": round(rows / t_ref),
        }

        store = Store(real_home, **opts)
        parquet_bytes = sum(p.stat().st_size for p in store.parquet_dir.rglob("*.parquet"))

        def load_aligned() -> Any:
            series = store.get("BTCUSDT", venue="binance", market="perp", bar="1m")
            return align(series)

        t_get, _, aligned = _best(load_aligned, repeat)
        assert aligned.n_bars == rows and aligned.close.dtype == np.float64
        t_read, _, _ = _best(lambda: store.get("BTCUSDT", bar="1m"), repeat)
        out.update(
            {
                "parquet_bytes": parquet_bytes,
                "load_aligned_s": round(t_get, 4),
                "load_store_get_s": round(t_read, 4),
                "targets": {
                    "import_rows_per_s": IMPORT_TARGET_ROWS_PER_S,
                    "load_aligned_s": LOAD_TARGET_S,
                },
                "import_target_met": rows / t_real >= IMPORT_TARGET_ROWS_PER_S,
                "load_target_met": t_get <= LOAD_TARGET_S,
                "cpus": os.cpu_count(),
                "loadavg_1min": {"before": load_before, "after": _loadavg()},
            }
        )
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=525_600, help="bars to generate (1 year)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (best is kept)")
    ap.add_argument("--compression", default=None, help="Parquet codec (default: the store's)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    out = run(args.rows, args.repeat, args.compression)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    la = out["loadavg_1min"]
    print(f"rows                          {out['rows']:>12,}")
    print(f"CSV size                      {out['csv_bytes'] / 1e6:>12.1f} MB")
    size = f"Parquet size ({out['compression']})"
    print(f"{size:<30}{out['parquet_bytes'] / 1e6:>12.1f} MB")
    print(
        f"import CSV->Parquet           {out['import_s']:>12.3f} s  "
        f"{out['import_rows_per_s']:>12,} rows/s  (target >= "
        f"{IMPORT_TARGET_ROWS_PER_S:,}: {'ok' if out['import_target_met'] else 'MISSED'})"
    )
    print(f"  load() + Store.put, as `gammaperp data import`; CPU {out['import_cpu_s']:.3f} s")
    print(
        f"reference: pyarrow only      {out['reference_pyarrow_s']:>12.3f} s  "
        f"{out['reference_pyarrow_rows_per_s']:>12,} rows/s  (no detection/checks; not a "
        "product path)"
    )
    print(f"Store.get (year)              {out['load_store_get_s']:>12.3f} s")
    print(
        f"Store.get + align             {out['load_aligned_s']:>12.3f} s  (target <= "
        f"{LOAD_TARGET_S}: {'ok' if out['load_target_met'] else 'MISSED'})"
    )
    print(
        f"machine                       {out['cpus']} CPUs, "
        f"load average {la['before']} -> {la['after']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
