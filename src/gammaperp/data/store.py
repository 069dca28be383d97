"""The local market-data store: Parquet files plus a DuckDB catalog under ``GAMMAPERP_HOME``.

Layout (``home`` = ``$GAMMAPERP_HOME``, default ``~/.gammaperp``)::

    {home}/catalog.duckdb                                       catalog (tables below)
    {home}/parquet/{venue}/{market}/{symbol}/{dataset}/{year}.parquet

``dataset`` is the kind, suffixed with the bar size for bar series (``ohlcv-1m``,
``ohlcv-5m``, ``funding``, ``iv-1d``). Each file holds one UTC calendar year, sorted by ``ts``
(``timestamp[ns, UTC]``, the bar open time for bars) followed by the frame's columns. Every
file carries its series' identity in the Parquet key-value metadata (``gammaperp``), so the
catalog can be rebuilt from the files alone (:meth:`Store.reindex`).

Writes are atomic per file: the new content goes to a temporary file in the same directory
(``.{year}.parquet.*.tmp``, ignored by readers) which then replaces the old one with
``os.replace``, so a crash leaves either the old or the new file, never half of one
(``Store(fsync=True)`` also flushes each file to disk before the rename). The catalog is
updated after the files, in one transaction; :meth:`Store.reindex` rebuilds it from the
files. A ``put`` holds the catalog's DuckDB file lock while it replaces files and updates the
catalog, so a second writer process waits (``lock_timeout``) or fails instead of
interleaving. (A new year file is encoded into its temporary file on a background thread
while the catalog is being opened; it is renamed into place only once the lock is held, and
merged as usual if the year file appeared meanwhile.)

Parquet files use LZ4 by default (``Store(compression=...)``), no dictionary pages,
row groups of 131,072 rows, statistics on ``ts`` only, ``DELTA_BINARY_PACKED`` for ``ts`` and
``BYTE_STREAM_SPLIT`` for float columns (standard Parquet encodings).

Catalog tables (``catalog.duckdb``; times are int64 ns UTC):

``series``  one row per series: ``key`` (``venue:symbol:market:kind[:bar]``), ``venue``,
            ``symbol``, ``market``, ``kind``, ``bar_seconds``, ``interval``, ``rows``,
            ``first_ns``, ``last_ns``, ``columns`` (JSON list), ``path`` (relative to home),
            ``n_files``, ``bytes``, ``meta`` (JSON), ``created_ns``, ``imported_ns``.
``files``   one row per Parquet file: ``key``, ``path``, ``rows``, ``first_ns``, ``last_ns``,
            ``bytes``, ``written_ns``.
``imports`` one row per :meth:`Store.put`: ``key``, ``source``, ``mode``, ``rows_in``,
            ``rows_new``, ``first_ns``, ``last_ns``, ``imported_ns``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pds
import pyarrow.parquet as pq

from gammaperp.data.frames import REQUIRED_COLUMNS, Series
from gammaperp.data.resample import (
    bar_label,
    bar_seconds_of,
    index_from_ns,
    parse_bar,
    ts_ns,
)
from gammaperp.errors import DataError, GammaperpError

__all__ = [
    "DEFAULT_HOME",
    "MODES",
    "PutResult",
    "Store",
    "StoreError",
    "catalog_key",
    "default_home",
]

DEFAULT_HOME = "~/.gammaperp"
MODES = ("merge", "replace")
# Kinds whose rows are unique per timestamp: merging deduplicates on ts (new rows win).
# Other kinds (trades, quotes, option_chain, depth) may repeat a timestamp: merging replaces
# the stored rows inside the new rows' [first, last] span.
UNIQUE_TS_KINDS = frozenset({"ohlcv", "funding", "iv", "mark"})
DEFAULT_COMPRESSION = "lz4"
COMPRESSIONS = ("lz4", "snappy", "zstd", "gzip", "brotli", "none")
PARQUET_OPTIONS: dict[str, Any] = {
    "use_dictionary": False,  # dictionary-encoding float columns costs 3x the write time
    "row_group_size": 131_072,  # ~3 months of 1m bars: row groups skipped by time filters
    "write_statistics": ["ts"],
}
# Column encodings (standard Parquet encodings, read by pyarrow, DuckDB, polars, Spark...):
# ``ts`` (sorted int64 ns) is delta-encoded, float columns are byte-stream-split. On a year
# of 1m bars this halves the write time against PLAIN + LZ4 and makes the file smaller.
TS_ENCODING = "DELTA_BINARY_PACKED"
FLOAT_ENCODING = "BYTE_STREAM_SPLIT"


def _column_encodings(schema: pa.Schema) -> dict[str, str]:
    enc: dict[str, str] = {}
    for f in schema:
        if f.name == "ts" and pa.types.is_timestamp(f.type):
            enc[f.name] = TS_ENCODING
        elif pa.types.is_floating(f.type):
            enc[f.name] = FLOAT_ENCODING
    return enc


_SCHEMA_VERSION = 1
_SAFE = re.compile(r"[^A-Za-z0-9_.=-]+")
_TS_TYPE = pa.timestamp("ns", tz="UTC")


class StoreError(GammaperpError, ValueError):
    """A store lookup or write failed: unknown series, ambiguous selection, bad mode..."""


def default_home() -> Path:
    """``$GAMMAPERP_HOME`` if set and not empty, else ``~/.gammaperp``."""
    env = os.environ.get("GAMMAPERP_HOME", "").strip()
    return Path(env or DEFAULT_HOME).expanduser()


def _bar_of(series: Series) -> int | None:
    if series.kind == "ohlcv":
        return bar_seconds_of(series)
    b = series.meta.get("bar_seconds")
    return parse_bar(b) if b is not None else None


def catalog_key(series: Series, bar_seconds: int | None = None) -> str:
    """``venue:symbol:market:kind``, plus ``:bar`` for bar series.

    E.g. ``binance:BTCUSDT:spot:ohlcv:1m``, ``binance:BTCUSDT:perp:funding``.
    """
    b = bar_seconds if bar_seconds is not None else _bar_of(series)
    return series.key if b is None else f"{series.key}:{bar_label(b)}"


def _now_ns() -> int:
    return time.time_ns()


def _ts(ns: int | None) -> pd.Timestamp | None:
    if ns is None or (isinstance(ns, float) and np.isnan(ns)) or ns is pd.NA:
        return None
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _to_ns(value: Any, what: str) -> int | None:
    """A user time bound (str, datetime, Timestamp, int ns) -> int64 ns UTC."""
    if value is None:
        return None
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: cannot read {value!r} as a UTC time ({exc})") from None
    if ts is pd.NaT:
        raise ValueError(f"{what}: {value!r} is not a time")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.as_unit("ns").value)


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


@dataclass(frozen=True)
class PutResult:
    """What :meth:`Store.put` did: rows given, net rows added, rows stored in total."""

    key: str
    rows_in: int
    rows_new: int
    rows_total: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    files: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "rows_in": self.rows_in,
            "rows_new": self.rows_new,
            "rows_total": self.rows_total,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "files": list(self.files),
        }


# --------------------------------------------------------------------------- arrow helpers


def _to_table(series: Series) -> pa.Table:
    """Frame -> Arrow table with a leading ``ts`` column.

    Float columns are float64, integer columns int64 (``local_ts``, ids: kept exact), booleans
    bool, datetimes ``timestamp[ns, UTC]``, anything else strings.
    """
    frame = series.frame
    t = ts_ns(frame)
    arrays: list[pa.Array] = [pa.array(t, type=pa.int64()).cast(_TS_TYPE)]
    names = ["ts"]
    for name in frame.columns:
        if not isinstance(name, str):
            raise DataError(f"{series.key}: column names must be strings, got {name!r}")
        if name == "ts":
            raise DataError(f"{series.key}: 'ts' is the index and cannot also be a column")
        col = frame[name]
        dtype = col.dtype
        if pd.api.types.is_bool_dtype(dtype):
            arr = pa.array(col.to_numpy(dtype=bool, na_value=False))
        elif pd.api.types.is_integer_dtype(dtype) and not col.isna().any():
            arr = pa.array(col.to_numpy(dtype=np.int64))  # ids, int64 ns local_ts: exact
        elif pd.api.types.is_numeric_dtype(dtype):
            arr = pa.array(col.to_numpy(dtype=np.float64, na_value=np.nan))
        elif isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            s = col if getattr(dtype, "tz", None) is not None else col.dt.tz_localize("UTC")
            arr = pa.array(s.dt.tz_convert("UTC").dt.as_unit("ns"))
        else:
            arr = pa.array(col.astype(object).where(col.notna(), None).tolist())
        arrays.append(arr)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def _ts_of(table: pa.Table) -> np.ndarray:
    col = table.column("ts")
    if col.num_chunks == 1:
        return col.chunk(0).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return col.cast(pa.int64()).to_numpy()


def _concat(tables: Sequence[pa.Table]) -> pa.Table:
    tables = [t.replace_schema_metadata(None) for t in tables]
    return pa.concat_tables(tables, promote_options="permissive")


def _sort_unique(table: pa.Table) -> pa.Table:
    """Sort by ts; of rows with equal ts keep the last one given (stable)."""
    t = _ts_of(table)
    if t.shape[0] < 2:
        return table
    d = np.diff(t)
    if (d > 0).all():
        return table
    order = np.argsort(t, kind="stable")
    st = t[order]
    keep = np.r_[st[1:] != st[:-1], True]
    return table.take(pa.array(order[keep]))


def _sort_stable(table: pa.Table) -> pa.Table:
    t = _ts_of(table)
    if t.shape[0] < 2 or (np.diff(t) >= 0).all():
        return table
    return table.take(pa.array(np.argsort(t, kind="stable")))


def _merge(old: pa.Table, new: pa.Table, unique: bool) -> pa.Table:
    """Merge sorted ``new`` rows into sorted ``old`` rows."""
    if old.num_rows == 0:
        return new
    if new.num_rows == 0:
        return old
    ot, nt = _ts_of(old), _ts_of(new)
    if ot[-1] < nt[0]:
        return _concat([old, new])
    if nt[-1] < ot[0]:
        return _concat([new, old])
    if unique:
        return _sort_unique(_concat([old, new]))
    outside = (ot < nt[0]) | (ot > nt[-1])
    kept = old.filter(pa.array(outside))
    return _sort_stable(_concat([kept, new]))


def _write_temp(
    table: pa.Table, path: Path, *, fsync: bool = True, compression: str = DEFAULT_COMPRESSION
) -> str:
    """Write ``table`` to a new temporary file next to ``path`` (``.{name}.*.tmp``, which
    readers ignore); returns its path. :func:`_commit` renames it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(
                table,
                fh,
                compression=compression,
                column_encoding=_column_encodings(table.schema),
                **PARQUET_OPTIONS,
            )
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def _commit(tmp: str, path: Path) -> int:
    """Atomically replace ``path`` by the temporary file ``tmp``; returns the bytes."""
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path.stat().st_size


def _write_atomic(
    table: pa.Table, path: Path, *, fsync: bool = True, compression: str = DEFAULT_COMPRESSION
) -> int:
    """Write ``table`` to ``path`` via a temporary file + ``os.replace``; returns bytes."""
    return _commit(_write_temp(table, path, fsync=fsync, compression=compression), path)


class _Prewrite:
    """Encode new year files into temporary files on a background thread.

    :meth:`Store.put` starts this before it opens the catalog, so the Parquet encoding
    (which releases the GIL) overlaps with opening the DuckDB catalog and taking its lock.
    Only files that will be written as given are prepared: under ``mode="merge"``, those
    whose year file does not exist yet. Nothing becomes visible until :meth:`take`, called
    with the catalog lock held, hands a temporary file over for the rename; the caller then
    re-checks that the year file still does not exist (another process may have written it
    meanwhile) and otherwise merges as usual. :meth:`close` removes whatever was not taken.
    """

    def __init__(self, jobs: list[tuple[Path, pa.Table]], *, fsync: bool, compression: str):
        self._results: dict[Path, tuple[str | None, BaseException | None]] = {}
        self._taken: set[Path] = set()
        self._paths = [p for p, _ in jobs]
        self._thread: threading.Thread | None = None
        if jobs:
            self._thread = threading.Thread(
                target=self._run,
                args=(jobs, fsync, compression),
                name="gammaperp-parquet-write",
                daemon=True,
            )
            self._thread.start()

    def _run(self, jobs: list[tuple[Path, pa.Table]], fsync: bool, compression: str) -> None:
        for path, part in jobs:
            try:
                tmp = _write_temp(part, path, fsync=fsync, compression=compression)
                self._results[path] = (tmp, None)
            except BaseException as exc:  # re-raised by take() on the caller's thread
                self._results[path] = (None, exc)

    def __contains__(self, path: Path) -> bool:
        return path in self._paths

    def _wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def take(self, path: Path) -> str:
        """The finished temporary file for ``path`` (the caller renames or removes it)."""
        self._wait()
        self._taken.add(path)
        tmp, exc = self._results[path]
        if exc is not None:
            raise exc
        assert tmp is not None
        return tmp

    def close(self) -> None:
        self._wait()
        for path, (tmp, _) in self._results.items():
            if tmp is not None and path not in self._taken:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


# --------------------------------------------------------------------------- the store

_DDL = (
    """CREATE TABLE IF NOT EXISTS series (
        key VARCHAR PRIMARY KEY, venue VARCHAR NOT NULL, symbol VARCHAR NOT NULL,
        market VARCHAR NOT NULL, kind VARCHAR NOT NULL, bar_seconds BIGINT, interval VARCHAR,
        rows BIGINT NOT NULL, first_ns BIGINT, last_ns BIGINT, columns VARCHAR,
        path VARCHAR NOT NULL, n_files INTEGER, bytes BIGINT, meta VARCHAR,
        created_ns BIGINT, imported_ns BIGINT)""",
    """CREATE TABLE IF NOT EXISTS files (
        key VARCHAR NOT NULL, path VARCHAR PRIMARY KEY, rows BIGINT NOT NULL,
        first_ns BIGINT, last_ns BIGINT, bytes BIGINT, written_ns BIGINT)""",
    """CREATE TABLE IF NOT EXISTS imports (
        key VARCHAR NOT NULL, source VARCHAR, mode VARCHAR, rows_in BIGINT, rows_new BIGINT,
        first_ns BIGINT, last_ns BIGINT, imported_ns BIGINT)""",
    "CREATE TABLE IF NOT EXISTS store_info (name VARCHAR PRIMARY KEY, value VARCHAR)",
)

LIST_COLUMNS = (
    "key",
    "venue",
    "symbol",
    "market",
    "kind",
    "interval",
    "bar_seconds",
    "rows",
    "first",
    "last",
    "n_files",
    "bytes",
    "sources",
    "imported_at",
    "path",
)


def _select(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class Store:
    """Parquet files + DuckDB catalog under ``home`` (default :func:`default_home`)."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        fsync: bool = False,
        compression: str = DEFAULT_COMPRESSION,
        lock_timeout: float = 10.0,
    ):
        if compression not in COMPRESSIONS:
            raise StoreError(
                f"compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}"
            )
        self.lock_timeout = float(lock_timeout)  # wait for another process's catalog lock
        self.home = Path(home).expanduser() if home is not None else default_home()
        self.compression = compression  # Parquet codec of new files: lz4, snappy, zstd, none
        # fsync each file before the rename: the rename alone already makes every write
        # atomic (old or new file, never half); fsync adds durability across power loss.
        self.fsync = fsync
        self._session: duckdb.DuckDBPyConnection | None = None
        self.parquet_dir = self.home / "parquet"
        self.catalog_path = self.home / "catalog.duckdb"

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"

    # ------------------------------------------------------------------ catalog plumbing

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the catalog, waiting up to ``lock_timeout`` s for another process's lock."""
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return duckdb.connect(str(self.catalog_path))
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open catalog {self.catalog_path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"catalog {self.catalog_path} is in use by another process; "
                        f"try again when it has finished ({str(exc).splitlines()[0]})"
                    ) from None
                time.sleep(0.05)

    @contextlib.contextmanager
    def session(self) -> Iterator[Store]:
        """Keep one catalog connection open for many reads (e.g. resolving every window)."""
        if self._session is not None:
            yield self
            return
        with self._db() as con:
            self._session = con
            try:
                yield self
            finally:
                self._session = None

    @contextlib.contextmanager
    def _db(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not write and self._session is not None:
            yield self._session
            return
        if not write and not self.catalog_path.exists():
            con = duckdb.connect(":memory:")
        else:
            self.home.mkdir(parents=True, exist_ok=True)
            con = self._connect()
        try:
            for ddl in _DDL:
                con.execute(ddl)
            if write:
                con.execute(
                    "INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)",
                    [str(_SCHEMA_VERSION)],
                )
            yield con
        finally:
            con.close()

    def _entries(self, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._db() as con:
            return _select(con, f"SELECT * FROM series {where} ORDER BY key", params)

    def entry(self, key: str) -> dict[str, Any] | None:
        """The catalog row of ``key`` (``None`` if not stored)."""
        got = self._entries("WHERE key = ?", [key])
        return got[0] if got else None

    def keys(self) -> list[str]:
        return [e["key"] for e in self._entries()]

    def find(
        self,
        symbol: str | None = None,
        *,
        venue: str | None = None,
        market: str | None = None,
        kind: str | None = None,
        bar: str | int | None = None,
    ) -> list[dict[str, Any]]:
        """Catalog rows matching every given field (symbol/venue case-insensitive)."""
        clauses, params = [], []
        if symbol is not None:
            clauses.append("upper(symbol) = ?")
            params.append(symbol.upper())
        if venue is not None:
            clauses.append("lower(venue) = ?")
            params.append(venue.lower())
        if market is not None:
            clauses.append("market = ?")
            params.append(market)
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if bar is not None:
            clauses.append("bar_seconds = ?")
            params.append(parse_bar(bar))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._entries(where, params)

    def span(self, key: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(first, last) stored timestamp of ``key``, or ``None``."""
        e = self.entry(key)
        if not e or not e["rows"]:
            return None
        return _ts(e["first_ns"]), _ts(e["last_ns"])

    def _dir(self, venue: str, market: str, symbol: str, kind: str, bar: int | None) -> Path:
        dataset = kind if bar is None else f"{kind}-{bar_label(bar)}"
        parts = [_SAFE.sub("_", p) for p in (venue, market, symbol, dataset)]
        return self.parquet_dir.joinpath(*parts)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.home).as_posix()

    # ------------------------------------------------------------------ writing

    def put(
        self,
        series: Series,
        *,
        mode: str = "merge",
        source: str | None = None,
    ) -> PutResult:
        """Store ``series``; returns what was written.

        ``mode="merge"`` (default) merges with the stored rows: for bars, funding, IV and mark
        series rows are deduplicated on ``ts`` and the new row wins; for trades, quotes and
        option chains the stored rows inside the new rows' time span are replaced.
        ``mode="replace"`` discards everything stored under the key first.
        """
        if mode not in MODES:
            raise StoreError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not isinstance(series, Series):
            raise StoreError(f"put() takes a Series, got {type(series).__name__}")
        missing = [c for c in REQUIRED_COLUMNS.get(series.kind, ()) if c not in series.frame]
        if missing:
            raise DataError(f"{series.key}: missing required column(s) {', '.join(missing)}")
        bar = _bar_of(series)
        key = catalog_key(series, bar)
        if len(series) == 0:  # nothing to write: leave files and catalog alone
            e = self.entry(key)
            return PutResult(
                key,
                0,
                0,
                int(e["rows"]) if e else 0,
                _ts(e["first_ns"]) if e else None,
                _ts(e["last_ns"]) if e else None,
                (),
            )
        unique = series.kind in UNIQUE_TS_KINDS
        table = _to_table(series)
        table = _sort_unique(table) if unique else _sort_stable(table)
        rows_in = len(series)
        ident = {
            "key": key,
            "venue": series.venue,
            "symbol": series.symbol,
            "market": series.market,
            "kind": series.kind,
            "bar_seconds": bar,
            "meta": _json_safe(series.meta),
        }
        table = table.replace_schema_metadata({"gammaperp": json.dumps(ident)})
        kdir = self._dir(series.venue, series.market, series.symbol, series.kind, bar)
        pre = _Prewrite(
            [
                (path, part)
                for path, part in self._year_parts(table, kdir)
                if mode == "replace" or not path.exists()
            ],
            fsync=self.fsync,
            compression=self.compression,
        )
        # One catalog connection for the whole put: DuckDB's file lock also keeps a second
        # writer process out while the Parquet files are rewritten.
        with contextlib.closing(pre), self._db(write=True) as con:
            found = _select(con, "SELECT * FROM series WHERE key = ?", [key])
            prev = found[0] if found else None
            prev_rows = int(prev["rows"]) if prev else 0
            old_files = [
                r[0] for r in con.execute("SELECT path FROM files WHERE key = ?", [key]).fetchall()
            ]
            written = self._write_years(table, kdir, ident, mode, unique, pre)
            removed: list[str] = []
            if mode == "replace":
                for rel in old_files:
                    if rel not in written:
                        with contextlib.suppress(FileNotFoundError):
                            (self.home / rel).unlink()
                        removed.append(rel)
            now = _now_ns()
            t = _ts_of(table)
            con.execute("BEGIN TRANSACTION")
            try:
                for rel in removed:
                    con.execute("DELETE FROM files WHERE path = ?", [rel])
                for rel, (rows, first, last, nbytes) in written.items():
                    con.execute("DELETE FROM files WHERE path = ?", [rel])
                    con.execute(
                        "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [key, rel, rows, first, last, nbytes, now],
                    )
                agg = con.execute(
                    "SELECT coalesce(sum(rows), 0), min(first_ns), max(last_ns), count(*), "
                    "coalesce(sum(bytes), 0) FROM files WHERE key = ?",
                    [key],
                ).fetchone()
                assert agg is not None
                rows_total, first_ns, last_ns, n_files, nbytes = agg
                columns = [n for n in table.column_names if n != "ts"]
                meta = dict(ident["meta"])
                created = now
                if prev:
                    old_cols = json.loads(prev["columns"] or "[]")
                    if mode == "merge":
                        columns = old_cols + [c for c in columns if c not in old_cols]
                        meta = {**json.loads(prev["meta"] or "{}"), **meta}
                    created = prev["created_ns"] or now
                rows_new = int(rows_total) - (0 if mode == "replace" else prev_rows)
                con.execute("DELETE FROM series WHERE key = ?", [key])
                con.execute(
                    "INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        key,
                        series.venue,
                        series.symbol,
                        series.market,
                        series.kind,
                        bar,
                        None if bar is None else bar_label(bar),
                        int(rows_total),
                        first_ns,
                        last_ns,
                        json.dumps(columns),
                        self._rel(kdir),
                        int(n_files),
                        int(nbytes),
                        json.dumps(meta),
                        created,
                        now,
                    ],
                )
                con.execute(
                    "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        key,
                        source if source is not None else series.source,
                        mode,
                        rows_in,
                        rows_new,
                        int(t[0]) if t.shape[0] else None,
                        int(t[-1]) if t.shape[0] else None,
                        now,
                    ],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return PutResult(
            key=key,
            rows_in=rows_in,
            rows_new=rows_new,
            rows_total=int(rows_total),
            first=_ts(first_ns),
            last=_ts(last_ns),
            files=tuple(sorted(written)),
        )

    @staticmethod
    def _year_parts(table: pa.Table, kdir: Path) -> list[tuple[Path, pa.Table]]:
        """``table`` (sorted) cut into one slice per UTC year, with the file of each."""
        t = _ts_of(table)
        if t.shape[0] == 0:
            return []
        y0 = int(str(np.datetime64(int(t[0]), "ns").astype("datetime64[Y]")))
        y1 = int(str(np.datetime64(int(t[-1]), "ns").astype("datetime64[Y]")))
        edges = np.array(
            [np.datetime64(f"{y}-01-01", "ns").astype(np.int64) for y in range(y0 + 1, y1 + 1)],
            dtype=np.int64,
        )
        cuts = [0, *np.searchsorted(t, edges, side="left").tolist(), t.shape[0]]
        return [
            (kdir / f"{year}.parquet", table.slice(lo, hi - lo))
            for year, lo, hi in zip(range(y0, y1 + 1), cuts[:-1], cuts[1:], strict=True)
            if hi > lo
        ]

    def _write_years(
        self,
        table: pa.Table,
        kdir: Path,
        ident: dict[str, Any],
        mode: str,
        unique: bool,
        pre: _Prewrite | None = None,
    ) -> dict[str, tuple[int, int, int, int]]:
        """Write ``table`` (sorted) into one file per UTC year; returns per-file stats.

        Called with the catalog lock held. ``pre``: year files already encoded into
        temporary files; one is renamed into place only if it is still right to write the
        new rows as given (``mode="replace"``, or no year file exists now)."""
        written: dict[str, tuple[int, int, int, int]] = {}
        for path, part in self._year_parts(table, kdir):
            if pre is not None and path in pre:
                tmp = pre.take(path)
                if mode == "replace" or not path.exists():
                    nbytes = _commit(tmp, path)
                    pt = _ts_of(part)
                    written[self._rel(path)] = (part.num_rows, int(pt[0]), int(pt[-1]), nbytes)
                    continue
                with contextlib.suppress(OSError):  # written meanwhile: merge instead
                    os.unlink(tmp)
            if mode == "merge" and path.exists():
                try:
                    part = _merge(pq.read_table(path), part, unique)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise StoreError(
                        f"{ident['key']}: the new rows do not fit the stored ones in "
                        f"{self._rel(path)} ({exc}); store them with mode='replace'"
                    ) from None
                part = part.replace_schema_metadata({"gammaperp": json.dumps(ident)})
            nbytes = _write_atomic(part, path, fsync=self.fsync, compression=self.compression)
            pt = _ts_of(part)
            written[self._rel(path)] = (part.num_rows, int(pt[0]), int(pt[-1]), nbytes)
        return written

    def delete(self, key: str) -> int:
        """Remove a series (files and catalog rows); returns the number of rows it had."""
        e = self.entry(key)
        if e is None:
            raise StoreError(f"no stored series {key!r}")
        with self._db() as con:
            paths = [
                r[0] for r in con.execute("SELECT path FROM files WHERE key = ?", [key]).fetchall()
            ]
        for rel in paths:
            with contextlib.suppress(FileNotFoundError):
                (self.home / rel).unlink()
        with self._db(write=True) as con:
            con.execute("DELETE FROM files WHERE key = ?", [key])
            con.execute("DELETE FROM series WHERE key = ?", [key])
        return int(e["rows"])

    def reindex(self) -> list[str]:
        """Rebuild the ``series`` and ``files`` tables from the Parquet files on disk.

        Use after copying a store or if a crash came between a file write and the catalog
        update. The ``imports`` history is kept. Returns the keys found.
        """
        found: dict[str, dict[str, Any]] = {}
        files: list[tuple[str, str, int, int, int, int]] = []
        if self.parquet_dir.exists():
            for path in sorted(self.parquet_dir.rglob("*.parquet")):
                if path.name.startswith("."):
                    continue
                pf = pq.ParquetFile(path)
                raw = (pf.schema_arrow.metadata or {}).get(b"gammaperp")
                if raw is None:
                    continue
                ident = json.loads(raw)
                t = _ts_of(pq.read_table(path, columns=["ts"]))
                if t.shape[0] == 0:
                    continue
                key = ident["key"]
                cols = [n for n in pf.schema_arrow.names if n != "ts"]
                ent = found.setdefault(key, {**ident, "columns": [], "dir": path.parent})
                ent["columns"] += [c for c in cols if c not in ent["columns"]]
                files.append(
                    (
                        key,
                        self._rel(path),
                        int(t.shape[0]),
                        int(t.min()),
                        int(t.max()),
                        path.stat().st_size,
                    )
                )
        now = _now_ns()
        with self._db(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            old = {
                r[0]: (r[1], r[2])
                for r in con.execute("SELECT key, created_ns, imported_ns FROM series").fetchall()
            }
            con.execute("DELETE FROM files")
            con.execute("DELETE FROM series")
            for f in files:
                con.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", [*f, now])
            for key, ent in found.items():
                mine = [f for f in files if f[0] == key]
                bar = ent.get("bar_seconds")
                created, imported = old.get(key, (now, now))
                con.execute(
                    "INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        key,
                        ent["venue"],
                        ent["symbol"],
                        ent["market"],
                        ent["kind"],
                        bar,
                        None if bar is None else bar_label(bar),
                        sum(f[2] for f in mine),
                        min(f[3] for f in mine),
                        max(f[4] for f in mine),
                        json.dumps(ent["columns"]),
                        self._rel(ent["dir"]),
                        len(mine),
                        sum(f[5] for f in mine),
                        json.dumps(ent.get("meta") or {}),
                        created,
                        imported,
                    ],
                )
            con.execute("COMMIT")
        return sorted(found)

    # ------------------------------------------------------------------ reading

    def resolve(
        self,
        symbol: str,
        *,
        venue: str | None = None,
        market: str | None = None,
        kind: str = "ohlcv",
        bar: str | int | None = None,
    ) -> dict[str, Any]:
        """The one catalog row matching; a clear error when none or several match."""
        got = self.find(symbol, venue=venue, market=market, kind=kind, bar=bar)
        if len(got) == 1:
            return got[0]
        sel = ", ".join(
            f"{k}={v}" for k, v in (("venue", venue), ("market", market), ("bar", bar)) if v
        )
        sel = f" ({sel})" if sel else ""
        if not got:
            same = [e["key"] for e in self.find(symbol)]
            have = ", ".join(same) if same else "nothing"
            raise StoreError(
                f"no stored {kind} series for {symbol.upper()}{sel}; stored for "
                f"{symbol.upper()}: {have}"
            )
        keys = ", ".join(e["key"] for e in got)
        raise StoreError(
            f"{len(got)} stored {kind} series match {symbol.upper()}{sel}: {keys}; "
            "choose one with --venue/--market/--bar (venue=, market=, bar=)"
        )

    def get(
        self,
        symbol: str,
        *,
        venue: str | None = None,
        market: str | None = None,
        kind: str = "ohlcv",
        bar: str | int | None = None,
        start: Any = None,
        end: Any = None,
        columns: Sequence[str] | None = None,
    ) -> Series:
        """Read a stored series, optionally restricted to ``start <= ts < end`` and columns.

        ``start``/``end`` accept ISO strings, datetimes, Timestamps or int ns (naive = UTC).
        """
        e = self.resolve(symbol, venue=venue, market=market, kind=kind, bar=bar)
        return self.read(e["key"], start=start, end=end, columns=columns)

    def read(
        self,
        key: str,
        *,
        start: Any = None,
        end: Any = None,
        columns: Sequence[str] | None = None,
    ) -> Series:
        """Read the stored series ``key`` (see :meth:`get`)."""
        e = self.entry(key)
        if e is None:
            raise StoreError(f"no stored series {key!r}")
        lo, hi = _to_ns(start, "start"), _to_ns(end, "end")
        stored_cols = json.loads(e["columns"] or "[]")
        if columns is not None:
            bad = [c for c in columns if c not in stored_cols]
            if bad:
                raise StoreError(
                    f"{key}: no column(s) {', '.join(bad)}; stored: {', '.join(stored_cols)}"
                )
            want = list(columns)
        else:
            want = stored_cols
        with self._db() as con:
            file_rows = con.execute(
                "SELECT path, first_ns, last_ns FROM files WHERE key = ? ORDER BY first_ns",
                [key],
            ).fetchall()
        all_paths = [str(self.home / p) for p, _, _ in file_rows]
        paths = [
            str(self.home / p)
            for p, f, la in file_rows
            if (lo is None or la >= lo) and (hi is None or f < hi)
        ]
        if all_paths:
            schema = pa.unify_schemas(
                [pq.read_schema(p).remove_metadata() for p in (paths or all_paths)],
                promote_options="permissive",
            )
            want = [c for c in want if c in schema.names]
        if paths:
            flt = None
            if lo is not None:
                flt = pds.field("ts") >= pa.scalar(lo, type=pa.int64()).cast(_TS_TYPE)
            if hi is not None:
                f2 = pds.field("ts") < pa.scalar(hi, type=pa.int64()).cast(_TS_TYPE)
                flt = f2 if flt is None else (flt & f2)
            if len(paths) == 1 and flt is None:
                table = pq.read_table(paths[0], columns=["ts", *want])
            else:
                dataset = pds.dataset(paths, schema=schema, format="parquet")
                table = dataset.to_table(columns=["ts", *want], filter=flt)
        elif all_paths:
            table = schema.empty_table().select(["ts", *want])
        else:
            want = []
            table = pa.table({"ts": pa.array([], type=_TS_TYPE)})
        frame = _to_frame(table, want)
        meta = json.loads(e["meta"] or "{}")
        if e["bar_seconds"] is not None:
            meta["bar_seconds"] = int(e["bar_seconds"])
        meta["store_key"] = key
        return Series(
            kind=e["kind"],
            venue=e["venue"],
            symbol=e["symbol"],
            market=e["market"],
            frame=frame,
            source=str(self.home / e["path"]),
            meta=meta,
        )

    # ------------------------------------------------------------------ listing

    def list(self) -> pd.DataFrame:
        """One row per stored series (see :data:`LIST_COLUMNS`), sorted by key."""
        with self._db() as con:
            cur = con.execute(
                """SELECT s.*, coalesce(i.sources, '') AS sources
                   FROM series s LEFT JOIN (
                       SELECT key, string_agg(DISTINCT source, '; ' ORDER BY source) AS sources
                       FROM imports WHERE source IS NOT NULL AND source <> '' GROUP BY key
                   ) i USING (key) ORDER BY s.key"""
            )
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        recs = []
        for r in rows:
            d = dict(zip(names, r, strict=True))
            recs.append(
                {
                    "key": d["key"],
                    "venue": d["venue"],
                    "symbol": d["symbol"],
                    "market": d["market"],
                    "kind": d["kind"],
                    "interval": d["interval"],
                    "bar_seconds": d["bar_seconds"],
                    "rows": int(d["rows"]),
                    "first": _ts(d["first_ns"]),
                    "last": _ts(d["last_ns"]),
                    "n_files": int(d["n_files"] or 0),
                    "bytes": int(d["bytes"] or 0),
                    "sources": d["sources"],
                    "imported_at": _ts(d["imported_ns"]),
                    "path": d["path"],
                }
            )
        df = pd.DataFrame.from_records(recs, columns=list(LIST_COLUMNS))
        df["bar_seconds"] = df["bar_seconds"].astype("Int64")
        return df

    def info(
        self,
        symbol: str,
        *,
        venue: str | None = None,
        market: str | None = None,
        kind: str | None = None,
        bar: str | int | None = None,
    ) -> pd.DataFrame:
        """The :meth:`list` rows of ``symbol`` (optionally narrowed)."""
        keys = {e["key"] for e in self.find(symbol, venue=venue, market=market, kind=kind, bar=bar)}
        df = self.list()
        return df[df["key"].isin(keys)].reset_index(drop=True)

    def imports(self, key: str | None = None) -> pd.DataFrame:
        """The import history (one row per :meth:`put`), oldest first."""
        where, params = ("WHERE key = ?", [key]) if key else ("", [])
        with self._db() as con:
            df = con.execute(
                f"SELECT * FROM imports {where} ORDER BY imported_ns, key", params
            ).df()
        for c in ("first_ns", "last_ns", "imported_ns"):
            df[c.removesuffix("_ns") if c != "imported_ns" else "imported_at"] = [
                _ts(v) if pd.notna(v) else None for v in df[c]
            ]
        return df.drop(columns=["first_ns", "last_ns", "imported_ns"])


def _to_frame(table: pa.Table, columns: Sequence[str]) -> pd.DataFrame:
    index = index_from_ns(_ts_of(table))
    data: dict[str, Any] = {}
    for name in columns:
        col = table.column(name)
        if pa.types.is_floating(col.type):
            data[name] = col.to_numpy()
        elif (pa.types.is_boolean(col.type) or pa.types.is_integer(col.type)) and (
            col.null_count == 0
        ):
            data[name] = col.to_numpy()
        else:
            data[name] = col.to_pandas().array
    return pd.DataFrame(data, index=index)


def ns_to_iso(ns: int | None) -> str | None:
    """int64 ns -> ``YYYY-MM-DDTHH:MM:SSZ`` (None stays None)."""
    ts = _ts(ns)
    return None if ts is None else ts.strftime("%Y-%m-%dT%H:%M:%SZ")
