"""The aligned market the engine consumes, and a builder that validates what goes into it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from gammaperp.errors import DataError

InstrumentKind = Literal["perp_linear", "perp_inverse", "spot"]
KIND_CODES: dict[str, int] = {"spot": 0, "perp_linear": 1, "perp_inverse": 2}
NS_PER_YEAR = 365 * 86_400 * 1_000_000_000


@dataclass(frozen=True)
class Instrument:
    """A tradable underlying instrument (perp or spot) on one venue.

    ``contract_size``: coin per contract for linear perps and spot (usually 1), USD per contract
    for inverse perps (Binance COIN-M BTCUSD_PERP: 100). ``tick_size`` and ``lot_size`` of 0 mean
    no rounding.
    """

    name: str
    venue: str
    kind: InstrumentKind
    underlying: str = "BTC"
    contract_size: float = 1.0
    tick_size: float = 0.0
    lot_size: float = 0.0

    @property
    def kind_code(self) -> int:
        return KIND_CODES[self.kind]


@dataclass(frozen=True, eq=False)
class Market:
    """All series of one backtest on one shared UTC nanosecond index (see package docs)."""

    ts: np.ndarray
    instruments: tuple[Instrument, ...]
    close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    volume: np.ndarray
    spread: np.ndarray
    mark: np.ndarray
    index: np.ndarray
    underlyings: tuple[str, ...]
    inst_underlying: np.ndarray
    iv: np.ndarray
    smile: np.ndarray
    funding_inst: np.ndarray
    funding_bar: np.ndarray
    funding_ts: np.ndarray
    funding_rate: np.ndarray
    local_ts: np.ndarray
    funding_interval_hours: tuple[float, ...] = ()
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_bars(self) -> int:
        return int(self.ts.shape[0])

    @property
    def n_instruments(self) -> int:
        return len(self.instruments)

    def instrument_index(self, name: str, venue: str | None = None) -> int:
        """Row of instrument ``name`` (on ``venue`` if given); error names what exists."""
        for i, inst in enumerate(self.instruments):
            if inst.name == name and (venue is None or inst.venue == venue):
                return i
        have = ", ".join(f"{x.venue}:{x.name}" for x in self.instruments)
        where = f" on venue {venue!r}" if venue else ""
        raise DataError(f"market has no instrument {name!r}{where}; it has: {have}")

    @property
    def bar_seconds(self) -> float:
        if self.n_bars < 2:
            return float("nan")
        return float(np.median(np.diff(self.ts[: min(self.n_bars, 10_000)]))) / 1e9

    def fingerprint(self) -> str:
        """sha256 over every array and the instrument specs: identifies the input data."""
        h = hashlib.sha256()
        for inst in self.instruments:
            h.update(repr(inst).encode())
        for name in (
            "ts",
            "close",
            "open",
            "high",
            "low",
            "volume",
            "spread",
            "mark",
            "index",
            "iv",
            "smile",
            "funding_inst",
            "funding_ts",
            "funding_rate",
            "local_ts",
        ):
            arr = np.ascontiguousarray(getattr(self, name))
            h.update(name.encode())
            h.update(str(arr.dtype).encode())
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
        return h.hexdigest()

    def describe(self) -> dict[str, Any]:
        """A small JSON-able description for summaries and reports."""
        return {
            "bars": self.n_bars,
            "start": _iso(self.ts[0]) if self.n_bars else None,
            "end": _iso(self.ts[-1]) if self.n_bars else None,
            "bar_seconds": self.bar_seconds,
            "instruments": [
                {"name": i.name, "venue": i.venue, "kind": i.kind, "underlying": i.underlying}
                for i in self.instruments
            ],
            "funding_events": int(self.funding_bar.shape[0]),
            "fallbacks": {k: list(v) for k, v in self.fallbacks.items()},
            "fingerprint": self.fingerprint(),
            **{k: v for k, v in self.meta.items() if isinstance(v, str | int | float | bool)},
        }


def _iso(ns: int) -> str:
    """``2024-01-01T00:00:00Z`` (seconds precision, UTC)."""
    return str(np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="s")) + "Z"


def _as_float(name: str, values: Any, n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise DataError(f"{name}: expected {n} values (one per timestamp), got shape {arr.shape}")
    return arr


def _check_prices(name: str, arr: np.ndarray, allow_nan: bool = False) -> None:
    bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"{name}: row {i}: non-finite value {float(arr[i])!r}")
    nonpos = arr <= 0
    if nonpos.any():
        i = int(np.argmax(nonpos))
        raise DataError(f"{name}: row {i}: non-positive price {float(arr[i])!r}")


class MarketBuilder:
    """Collects series for one shared index, validates them and builds a :class:`Market`.

    Every error names the series (``venue:instrument.field``) and the first bad row.
    """

    def __init__(self, ts: Any, *, local_ts: Any = None, meta: dict[str, Any] | None = None):
        ts_arr = _to_ns(ts, "ts")
        if ts_arr.shape[0] < 2:
            raise DataError(f"ts: need at least 2 timestamps, got {ts_arr.shape[0]}")
        d = np.diff(ts_arr)
        if (d <= 0).any():
            i = int(np.argmax(d <= 0)) + 1
            what = "duplicate" if d[i - 1] == 0 else "unsorted"
            raise DataError(f"ts: row {i}: {what} timestamp {_iso(ts_arr[i])}")
        self.ts = ts_arr
        self.local_ts = ts_arr.copy() if local_ts is None else _to_ns(local_ts, "local_ts")
        if self.local_ts.shape != ts_arr.shape:
            raise DataError("local_ts: must have one value per timestamp")
        self._inst: list[dict[str, Any]] = []
        self._iv: dict[str, tuple[np.ndarray, tuple[float, float]]] = {}
        self.meta = dict(meta or {})

    @property
    def n(self) -> int:
        return int(self.ts.shape[0])

    def add_instrument(
        self,
        inst: Instrument,
        close: Any,
        *,
        open: Any = None,
        high: Any = None,
        low: Any = None,
        volume: Any = None,
        spread: Any = None,
        bid: Any = None,
        ask: Any = None,
        mark: Any = None,
        index: Any = None,
        funding_ts: Any = None,
        funding_rate: Any = None,
        funding_interval_hours: float = 8.0,
    ) -> MarketBuilder:
        if any(x["inst"].name == inst.name and x["inst"].venue == inst.venue for x in self._inst):
            raise DataError(f"instrument {inst.venue}:{inst.name} added twice")
        if inst.contract_size <= 0:
            raise DataError(f"{inst.venue}:{inst.name}: contract_size must be > 0")
        tag = f"{inst.venue}:{inst.name}"
        n = self.n
        c = _as_float(f"{tag}.close", close, n)
        _check_prices(f"{tag}.close", c)
        fallbacks = []
        cols: dict[str, np.ndarray] = {"close": c}
        for fname, val in (("open", open), ("high", high), ("low", low)):
            if val is None:
                fallbacks.append(fname)
            else:
                arr = _as_float(f"{tag}.{fname}", val, n)
                _check_prices(f"{tag}.{fname}", arr)
                cols[fname] = arr
        # fallbacks: open -> previous close (bar 0: its close); high/low -> span open..close
        if "open" not in cols:
            op = np.concatenate((c[:1], c[:-1]))
            if "high" in cols:
                op = np.minimum(op, cols["high"])
            if "low" in cols:
                op = np.maximum(op, cols["low"])
            cols["open"] = op
        if "high" not in cols:
            cols["high"] = np.maximum(cols["open"], c)
        if "low" not in cols:
            cols["low"] = np.minimum(cols["open"], c)
        hi, lo, op = cols["high"], cols["low"], cols["open"]
        for what, arr in (("close", c), ("open", op)):
            bad = (hi < lo) | (arr > hi * (1 + 1e-12)) | (arr < lo * (1 - 1e-12))
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    f"{tag}: row {i}: {what} {arr[i]} outside [low {lo[i]}, high {hi[i]}]"
                )
        for fname, val in (("mark", mark), ("index", index)):
            if val is None:
                cols[fname] = c
                fallbacks.append(fname)
            else:
                arr = _as_float(f"{tag}.{fname}", val, n)
                _check_prices(f"{tag}.{fname}", arr)
                cols[fname] = arr
        cols["volume"] = (
            np.full(n, np.nan) if volume is None else _as_float(f"{tag}.volume", volume, n)
        )
        if volume is not None and (cols["volume"] < 0).any():
            i = int(np.argmax(cols["volume"] < 0))
            raise DataError(f"{tag}.volume: row {i}: negative volume")
        if spread is None and bid is not None and ask is not None:
            b = _as_float(f"{tag}.bid", bid, n)
            a = _as_float(f"{tag}.ask", ask, n)
            spread = a - b
        if spread is None:
            cols["spread"] = np.full(n, np.nan)
            fallbacks.append("spread")
        else:
            sp = _as_float(f"{tag}.spread", spread, n)
            if (sp < 0).any():
                i = int(np.argmax(sp < 0))
                raise DataError(f"{tag}.spread: row {i}: negative spread (ask < bid)")
            cols["spread"] = sp
        fts = np.zeros(0, np.int64)
        frate = np.zeros(0, np.float64)
        if funding_rate is not None:
            if inst.kind == "spot":
                raise DataError(f"{tag}: spot instruments have no funding")
            fts = _to_ns(funding_ts, f"{tag}.funding_ts")
            frate = np.asarray(funding_rate, dtype=np.float64).reshape(-1)
            if fts.shape != frate.shape:
                raise DataError(f"{tag}: funding_ts and funding_rate differ in length")
            if fts.size:
                d = np.diff(fts)
                if (d <= 0).any():
                    i = int(np.argmax(d <= 0)) + 1
                    raise DataError(f"{tag}.funding: row {i}: unsorted or duplicate timestamp")
                if not np.isfinite(frate).all():
                    i = int(np.argmax(~np.isfinite(frate)))
                    raise DataError(f"{tag}.funding: row {i}: non-finite rate")
                if fts[0] < self.ts[0] or fts[-1] > self.ts[-1]:
                    i = int(np.argmax((fts < self.ts[0]) | (fts > self.ts[-1])))
                    raise DataError(
                        f"{tag}.funding: row {i}: event at {_iso(fts[i])} is outside the "
                        f"market index {_iso(self.ts[0])} .. {_iso(self.ts[-1])} "
                        "(trim the funding series to the bars)"
                    )
        self._inst.append(
            {
                "inst": inst,
                "cols": cols,
                "fallbacks": tuple(fallbacks),
                "fts": fts,
                "frate": frate,
                "fint": float(funding_interval_hours),
            }
        )
        return self

    def set_iv(
        self,
        underlying: str,
        iv: Any,
        *,
        skew: float = 0.0,
        curvature: float = 0.0,
    ) -> MarketBuilder:
        """Implied vol per bar (decimal, annualised) for ``underlying``; a scalar is constant."""
        arr = _as_float(f"iv[{underlying}]", iv, self.n)
        bad = ~np.isfinite(arr) | (arr <= 0) | (arr > 10)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"iv[{underlying}]: row {i}: implied vol {float(arr[i])!r} is not in (0, 10] "
                "(decimal annualised: 0.6 means 60 %)"
            )
        self._iv[underlying] = (arr, (float(skew), float(curvature)))
        return self

    def build(self) -> Market:
        if not self._inst:
            raise DataError("market has no instruments")
        n = self.n
        k = len(self._inst)

        def stack(col: str) -> np.ndarray:
            out = np.empty((k, n), dtype=np.float64)
            for j, x in enumerate(self._inst):
                out[j] = x["cols"][col]
            return out

        close = stack("close")

        def stack_or_close(col: str) -> np.ndarray:
            """Mark / index that fall back to the close everywhere share its array (read-only:
            one year of minute bars saves 4 MB per column per instrument)."""
            if all(x["cols"][col] is x["cols"]["close"] for x in self._inst):
                close.flags.writeable = False
                return close
            return stack(col)

        underlyings = tuple(dict.fromkeys(x["inst"].underlying for x in self._inst))
        missing = [u for u in underlyings if u not in self._iv]
        iv = np.empty((len(underlyings), n), dtype=np.float64)
        smile = np.zeros((len(underlyings), 2), dtype=np.float64)
        for u_i, u in enumerate(underlyings):
            if u in self._iv:
                iv[u_i], smile[u_i] = self._iv[u][0], self._iv[u][1]
            else:
                iv[u_i] = np.nan  # no options can be valued on it; the engine checks
        inst_underlying = np.array(
            [underlyings.index(x["inst"].underlying) for x in self._inst], dtype=np.int64
        )
        f_inst, f_ts, f_rate = [], [], []
        for j, x in enumerate(self._inst):
            f_inst.append(np.full(x["fts"].shape[0], j, dtype=np.int64))
            f_ts.append(x["fts"])
            f_rate.append(x["frate"])
        fi = np.concatenate(f_inst)
        ft = np.concatenate(f_ts)
        fr = np.concatenate(f_rate)
        fb = np.searchsorted(self.ts, ft, side="left").astype(np.int64)
        order = np.lexsort((fi, fb))
        fallbacks = {f"{x['inst'].venue}:{x['inst'].name}": x["fallbacks"] for x in self._inst}
        if missing:
            fallbacks["iv_missing"] = tuple(missing)
        return Market(
            ts=self.ts,
            instruments=tuple(x["inst"] for x in self._inst),
            close=close,
            open=stack("open"),
            high=stack("high"),
            low=stack("low"),
            volume=stack("volume"),
            spread=stack("spread"),
            mark=stack_or_close("mark"),
            index=stack_or_close("index"),
            underlyings=underlyings,
            inst_underlying=inst_underlying,
            iv=iv,
            smile=smile,
            funding_inst=fi[order],
            funding_bar=fb[order],
            funding_ts=ft[order],
            funding_rate=fr[order],
            local_ts=self.local_ts,
            funding_interval_hours=tuple(x["fint"] for x in self._inst),
            fallbacks=fallbacks,
            meta=self.meta,
        )


def _to_ns(ts: Any, name: str) -> np.ndarray:
    """Timestamps to int64 ns UTC. Accepts int64 ns, datetime64, or a tz-aware pandas index."""
    if ts is None:
        raise DataError(f"{name}: timestamps are required")
    if hasattr(ts, "tz") and hasattr(ts, "asi8"):  # pandas DatetimeIndex
        if ts.tz is None:
            raise DataError(f"{name}: timestamps must be timezone-aware UTC, got naive")
        return np.asarray(ts.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
    arr = np.asarray(ts)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    raise DataError(f"{name}: expected int64 nanoseconds or datetime64, got {arr.dtype}")


def regular_index(start_ns: int, n: int, bar_seconds: float) -> np.ndarray:
    """``n`` timestamps ``bar_seconds`` apart starting at ``start_ns`` (int64 ns)."""
    step = round(bar_seconds * 1e9)
    return start_ns + step * np.arange(n, dtype=np.int64)
