"""Validation of canonical series, with a readable report.

``validate(series, ...)`` runs every check that applies to the series' kind and returns a
:class:`ValidationReport`; nothing is dropped or changed unless a gap policy asks for it.

Checks (severity in brackets):

* time zone [error]: the index must be a tz-aware UTC ``DatetimeIndex``. A naive index is an
  error unless the caller declares it UTC with ``assume_utc=True``; another zone is an error.
* required columns of the kind [error] (see :mod:`gammaperp.data.frames`).
* unsorted timestamps [error]: the first row earlier than its predecessor.
* duplicate timestamps [error] for bar-like kinds (``ohlcv``, ``funding``, ``iv``); tick kinds
  (trades, quotes, mark, depth) and option chains may repeat a timestamp.
* prices [error]: NaN or non-positive prices (``open/high/low/close`` and optional
  ``mark/index/bid/ask``; trade ``price``; quote ``bid/ask``; ``mark``; ``iv``; option
  ``strike``; option premiums may be 0 but not negative or NaN); NaN funding rate; NaN or
  negative volume / quantity.
* OHLC consistency [error]: ``high < low``, or ``open``/``close`` outside ``[low, high]``
  (relative tolerance 1e-9).
* crossed quotes (bid > ask) [warning]; zero-volume bars [info].
* gaps [warning, or error under ``gap_policy="fail"``] versus the expected interval
  (``expected_interval``, else ``meta["bar_seconds"]`` or ``meta["interval_hours"]``, else
  the median spacing): each gap is listed as ``Gap(start, end, missing)`` where ``start`` is
  the last row before the hole, ``end`` the first row after it and ``missing`` the number of
  absent intervals. Spacing that is not a whole multiple of the interval (off-schedule
  funding settlements) is reported as irregular [warning]. Jitter up to 1 % of the interval
  (Binance funding times carry a few ms) is ignored.
* outliers [warning, never dropped]: ``|log return - median| > outlier_sigma`` (default 15)
  robust sigmas of the log returns of close / mark / iv / trade price / mid, the robust sigma
  being the larger of 1.4826 x MAD and 1.2533 x mean absolute deviation; for funding, the
  rate's distance from its median in the same robust sigmas.

Gap policies: ``"warn"`` (default) lists gaps as warnings and leaves the data unchanged;
``"fail"`` makes every gap an error; ``"split"`` returns the contiguous segments
(``report.result`` is a list of Series); ``"ffill"`` inserts the missing rows
(``report.result`` is a Series with a boolean ``synthetic`` column marking the filled rows;
filled OHLCV bars are flat at the previous close with zero volume; other columns carry the
previous value forward).

Rows: ``Issue.row`` is the 1-based line of the source file when known (loaders pass it),
``Issue.position`` the 0-based position in the frame.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from gammaperp.data.frames import REQUIRED_COLUMNS, Series
from gammaperp.errors import DataError

Severity = Literal["error", "warning", "info"]
GapPolicy = Literal["warn", "fail", "split", "ffill"]

__all__ = [
    "Gap",
    "Issue",
    "ValidationReport",
    "fill_gaps",
    "split_at_gaps",
    "validate",
    "validate_file",
]

_BAR_KINDS = ("ohlcv", "funding", "iv")
_PRICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ohlcv": ("open", "high", "low", "close", "mark", "index", "bid", "ask"),
    "trades": ("price",),
    "quotes": ("bid", "ask"),
    "mark": ("mark",),
    "iv": ("iv", "iv_open", "iv_high", "iv_low"),
    "funding": ("mark",),
    "option_chain": ("strike",),
    "depth": ("price",),
}
_QTY_COLUMNS: dict[str, tuple[str, ...]] = {
    "ohlcv": ("volume",),
    "trades": ("qty",),
    "quotes": ("bid_qty", "ask_qty"),
    "depth": ("qty",),
}
_TOL = 1e-9


@dataclass(frozen=True)
class Issue:
    """One finding. ``str(issue)`` reads like ``"x.csv row 17 column 'close': NaN price"``."""

    severity: Severity
    check: str
    message: str
    file: str = ""
    row: int | None = None
    position: int | None = None
    ts: pd.Timestamp | None = None
    column: str | None = None

    @property
    def where(self) -> str:
        parts = [self.file or "<series>"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        elif self.position is not None:
            parts.append(f"position {self.position}")
        if self.ts is not None and self.row is None:
            parts.append(f"({_fmt(self.ts)})")
        if self.column:
            parts.append(f"column {self.column!r}")
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Gap:
    """A hole: ``start`` is the last row before it, ``end`` the first row after it."""

    start: pd.Timestamp
    end: pd.Timestamp
    missing: int

    @property
    def duration(self) -> pd.Timedelta:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_fmt(self.start)} -> {_fmt(self.end)} ({self.missing} missing)"


@dataclass
class ValidationReport:
    """What :func:`validate` found, plus the series after applying the gap policy."""

    file: str
    key: str
    n_rows: int
    issues: list[Issue] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    interval: pd.Timedelta | None = None
    gap_policy: GapPolicy = "warn"
    result: Series | list[Series] | None = None
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and infos are allowed)."""
        return not self.errors

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)

    @property
    def series(self) -> Series | None:
        """The single series after the gap policy (``None`` under ``"split"``: see
        :attr:`segments`)."""
        return self.result if isinstance(self.result, Series) else None

    @property
    def segments(self) -> list[Series]:
        """The contiguous pieces (``gap_policy="split"``) or ``[result]``."""
        if isinstance(self.result, list):
            return self.result
        return [] if self.result is None else [self.result]

    def count(self, check: str) -> int:
        """Number of rows flagged by one check (collapsed overflow issues included)."""
        n = 0
        for i in self.issues:
            if i.check == check:
                n += 1
            elif i.check == check + ":more":
                n += int(i.message.split()[2])
        return n

    def summary(self, max_lines: int = 20) -> str:
        span = ""
        if self.first is not None and self.last is not None:
            span = f", {_fmt(self.first)} -> {_fmt(self.last)}"
        head = (
            f"{self.file or '<series>'} ({self.key}, {self.n_rows} rows{span}): "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        )
        out = [head]
        if self.interval is not None:
            out.append(
                f"  gaps vs {_fmt_td(self.interval)}: {len(self.gaps)} gap(s), "
                f"{self.missing} missing interval(s), policy {self.gap_policy!r}"
            )
            for g in self.gaps[:max_lines]:
                out.append(f"    {g}")
            if len(self.gaps) > max_lines:
                out.append(f"    ... {len(self.gaps) - max_lines} more")
        shown = [i for i in self.issues if i.check != "gap"]
        shown.sort(key=lambda i: {"error": 0, "warning": 1, "info": 2}[i.severity])
        for i in shown[:max_lines]:
            out.append(f"  {i.severity}: {i}")
        if len(shown) > max_lines:
            out.append(f"  ... {len(shown) - max_lines} more issue(s)")
        return "\n".join(out)

    def to_frame(self) -> pd.DataFrame:
        cols = ["severity", "check", "file", "row", "position", "ts", "column", "message"]
        rows = [
            {
                "severity": i.severity,
                "check": i.check,
                "file": i.file,
                "row": i.row,
                "position": i.position,
                "ts": i.ts,
                "column": i.column,
                "message": i.message,
            }
            for i in self.issues
        ]
        frame = pd.DataFrame(rows, columns=cols)
        frame["row"] = frame["row"].astype("Int64")
        frame["position"] = frame["position"].astype("Int64")
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame

    def raise_for_errors(self) -> None:
        """Raise :class:`DataError` with the first error (and the count of the others)."""
        errs = self.errors
        if not errs:
            return
        more = f" (and {len(errs) - 1} more error(s))" if len(errs) > 1 else ""
        raise DataError(f"{errs[0]}{more}")

    def __str__(self) -> str:
        return self.summary()


def _fmt(ts: Any) -> str:
    t = pd.Timestamp(ts)
    s = t.isoformat()
    return s.replace("+00:00", "Z")


def _fmt_td(td: pd.Timedelta) -> str:
    sec = td.total_seconds()
    for unit, n in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if sec >= n and sec % n == 0:
            return f"{int(sec // n)}{unit}"
    return str(td)


class _Collector:
    def __init__(
        self,
        file: str,
        index: pd.DatetimeIndex,
        lines: np.ndarray | None,
        cap: int,
    ) -> None:
        self.file = file
        self.index = index
        self.lines = lines
        self.cap = cap
        self.issues: list[Issue] = []

    def add(
        self,
        severity: Severity,
        check: str,
        message: str,
        positions: Sequence[int] | np.ndarray | None = None,
        column: str | None = None,
        messages: Sequence[str] | None = None,
    ) -> None:
        if positions is None:
            self.issues.append(Issue(severity, check, message, self.file, column=column))
            return
        pos = np.asarray(positions, dtype=np.int64)
        for k, p in enumerate(pos[: self.cap]):
            row = int(self.lines[p]) if self.lines is not None else None
            ts = self.index[p] if p < len(self.index) else None
            msg = messages[k] if messages is not None else message
            self.issues.append(Issue(severity, check, msg, self.file, row, int(p), ts, column))
        if len(pos) > self.cap:
            self.issues.append(
                Issue(
                    severity,
                    check + ":more",
                    f"... and {len(pos) - self.cap} more rows: {message}",
                    self.file,
                    column=column,
                )
            )


def validate(
    series: Series | pd.DataFrame,
    *,
    kind: str | None = None,
    expected_interval: pd.Timedelta | str | float | None = None,
    gap_policy: GapPolicy = "warn",
    outlier_sigma: float | None = 15.0,
    assume_utc: bool = False,
    line_numbers: np.ndarray | Sequence[int] | None = None,
    file: str | None = None,
    max_issues_per_check: int = 1000,
) -> ValidationReport:
    """Check a series and apply the gap policy; see the module docstring for the checks.

    ``series`` may be a bare DataFrame (then ``kind`` is required, default "ohlcv").
    ``expected_interval``: a Timedelta, a pandas offset string ("1min", "8h") or seconds.
    ``line_numbers``: 1-based source line of each row, used to name rows in messages.
    """
    if gap_policy not in ("warn", "fail", "split", "ffill"):
        raise DataError(
            f"gap_policy must be 'warn', 'fail', 'split' or 'ffill', not {gap_policy!r}"
        )
    if isinstance(series, pd.DataFrame):
        series = Series(
            kind=(kind or "ohlcv"),  # type: ignore[arg-type]
            venue="unknown",
            symbol="UNKNOWN",
            market="spot",
            frame=series,
        )
    elif kind is not None and kind != series.kind:
        raise DataError(f"validate: kind={kind!r} given for a {series.kind!r} series")
    fname = file or (_basename(series.source) if series.source else "")
    frame = series.frame
    lines: Any
    if line_numbers is None:
        lines = None
    elif getattr(line_numbers, "lazy_line_numbers", False):
        # a loader's SourceLines: the file is scanned for line numbers only if an issue
        # names a row (indexing it gives the same int64 values as the array would)
        lines = line_numbers
    else:
        lines = np.asarray(line_numbers, dtype=np.int64)
    if lines is not None and len(lines) != len(frame):
        raise DataError(
            f"validate: {len(lines)} line numbers given for {len(frame)} rows of {series.key}"
        )
    idx = frame.index
    report = ValidationReport(
        file=fname, key=series.key, n_rows=len(frame), gap_policy=gap_policy, result=series
    )
    if not isinstance(idx, pd.DatetimeIndex):
        c = _Collector(fname, pd.DatetimeIndex([]), None, max_issues_per_check)
        c.add("error", "timezone", f"index must be a DatetimeIndex, got {type(idx).__name__}")
        report.issues = c.issues
        return report
    col = _Collector(fname, idx, lines, max_issues_per_check)

    # --- time zone
    if idx.tz is None:
        if assume_utc:
            idx = idx.tz_localize("UTC")
            series = replace(series, frame=frame.set_axis(idx.rename("ts"), axis=0))
            frame = series.frame
            col.index = idx
            report.result = series
        else:
            col.add(
                "error",
                "timezone",
                "index is naive (no time zone); declare it with assume_utc=True if it is UTC",
            )
    elif str(idx.tz) not in ("UTC", "utc", "UTC+00:00"):
        col.add(
            "error",
            "timezone",
            f"index time zone is {idx.tz}, must be UTC (convert with tz_convert('UTC'))",
        )
    if len(idx):
        report.first, report.last = idx[0], idx[-1]

    # --- required columns
    for c in REQUIRED_COLUMNS.get(series.kind, ()):
        if c not in frame.columns:
            col.add("error", "columns", f"missing required column {c!r} for kind {series.kind!r}")

    ts = idx.as_unit("ns").asi8 if len(idx) else np.zeros(0, dtype=np.int64)
    # --- ordering and duplicates
    sorted_ok = True
    d = None
    if len(ts) > 1:
        d = np.diff(ts)
        d_min = d.min()  # one pass; rows are looked for only when something is wrong
        back = np.flatnonzero(d < 0) if d_min < 0 else np.zeros(0, dtype=np.int64)
        if len(back):
            sorted_ok = False
            p = int(back[0]) + 1
            col.add(
                "error",
                "unsorted",
                f"timestamp {_fmt(idx[p])} is earlier than the previous row's "
                f"({_fmt(idx[p - 1])}): rows are not sorted",
                [p],
                "ts",
            )
        if series.kind in _BAR_KINDS and d_min <= 0:
            dup = np.flatnonzero(d == 0) + 1
            if len(dup):
                col.add(
                    "error",
                    "duplicate",
                    "duplicate timestamp",
                    dup,
                    "ts",
                    [
                        f"duplicate timestamp {_fmt(idx[p])} (same as the previous row)"
                        for p in dup[: col.cap]
                    ],
                )

    # --- values
    _check_values(series, frame, col)

    # --- gaps
    interval = _interval(series, ts, expected_interval)
    report.interval = interval
    if interval is not None and sorted_ok and len(ts) > 1:
        gaps, gap_pos, irregular = _find_gaps(ts, interval, d)
        report.gaps = [Gap(idx[p], idx[p + 1], int(m)) for p, m in zip(gap_pos, gaps, strict=True)]
        sev: Severity = "error" if gap_policy == "fail" else "warning"
        if len(gap_pos):
            col.add(
                sev,
                "gap",
                "gap",
                gap_pos + 1,
                "ts",
                [
                    f"gap of {int(m)} missing {_fmt_td(interval)} interval(s) after {_fmt(idx[p])}"
                    for p, m in zip(gap_pos[: col.cap], gaps[: col.cap], strict=True)
                ],
            )
        if len(irregular):
            col.add(
                "warning",
                "irregular",
                f"spacing is not a whole multiple of {_fmt_td(interval)}",
                irregular + 1,
                "ts",
                [
                    f"spacing {pd.Timedelta(int(ts[p + 1] - ts[p]), 'ns')} since the previous row "
                    f"is not a whole multiple of {_fmt_td(interval)}"
                    for p in irregular[: col.cap]
                ],
            )

    # --- outliers
    if outlier_sigma is not None and len(frame) > 2:
        _check_outliers(series, frame, col, outlier_sigma)

    report.issues = sorted(col.issues, key=_issue_order)
    # --- policy
    if interval is not None and report.gaps and report.ok:
        if gap_policy == "split":
            report.result = split_at_gaps(series, interval)
        elif gap_policy == "ffill":
            report.result = fill_gaps(series, interval)
    elif gap_policy == "ffill" and report.ok and isinstance(report.result, Series):
        res = report.result
        report.result = replace(
            res, frame=res.frame.assign(synthetic=np.zeros(len(res.frame), dtype=bool))
        )
    return report


def _issue_order(i: Issue) -> float:
    """Whole-series issues first, then by row position, collapsed overflow notes last."""
    if i.position is not None:
        return float(i.position)
    return float("inf") if i.check.endswith(":more") else -1.0


def _basename(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _interval(
    series: Series, ts: np.ndarray, expected: pd.Timedelta | str | float | None
) -> pd.Timedelta | None:
    if expected is not None:
        if isinstance(expected, int | float) and not isinstance(expected, bool):
            return pd.Timedelta(seconds=float(expected))
        return pd.Timedelta(expected)
    meta = series.meta
    if series.kind in ("ohlcv", "iv") and meta.get("bar_seconds"):
        return pd.Timedelta(seconds=float(meta["bar_seconds"]))
    if series.kind == "funding" and meta.get("interval_hours"):
        return pd.Timedelta(hours=float(meta["interval_hours"]))
    if series.kind in _BAR_KINDS and len(ts) > 2:
        d = np.diff(ts)
        d = d[d > 0]
        if len(d):
            return pd.Timedelta(int(np.median(d)), "ns")
    return None


def _find_gaps(
    ts: np.ndarray, interval: pd.Timedelta, diffs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    step = interval.value
    di = np.diff(ts) if diffs is None else diffs
    if len(di) and di.min() == step and di.max() == step:  # the regular case: no gap at all
        none = np.zeros(0, dtype=np.int64)
        return none, none, none
    d = di.astype(np.float64)
    ratio = d / step
    k = np.rint(ratio)
    off = np.abs(ratio - k) > 0.01
    missing = k - 1
    is_gap = (missing >= 1) & ~off
    # an off-grid hole of more than 1.5 intervals is a gap too (floor of the missing count)
    big_off = off & (ratio > 1.5)
    missing = np.where(big_off, np.floor(ratio - 1e-9), missing)
    is_gap |= big_off
    pos = np.flatnonzero(is_gap)
    irregular = np.flatnonzero(off & ~big_off)
    return missing[pos].astype(np.int64), pos, irregular


def _check_values(series: Series, frame: pd.DataFrame, col: _Collector) -> None:
    kind = series.kind
    signed = series.meta.get("price_type") == "premium_index"  # a premium can be negative
    for c in _PRICE_COLUMNS.get(kind, ()):
        if c not in frame.columns:
            continue
        if _all_positive(frame[c]) or (signed and _no_nan(frame[c])):
            continue  # the common case, decided in one pass: no NaN, nothing <= 0
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        optional = kind == "ohlcv" and c in ("mark", "index", "bid", "ask")
        nan = np.isnan(v)
        if nan.any() and not optional:
            col.add("error", "nan", "NaN price", np.flatnonzero(nan), c)
        with np.errstate(invalid="ignore"):
            nonpos = ~nan & (v <= 0) & (not signed)
        if nonpos.any():
            pos = np.flatnonzero(nonpos)
            col.add(
                "error",
                "nonpositive",
                "non-positive price",
                pos,
                c,
                [f"non-positive price {v[p]:g}" for p in pos[: col.cap]],
            )
    if kind == "option_chain":
        for c in ("mark_price", "bid_price", "ask_price", "underlying_price", "index_price"):
            if c not in frame.columns:
                continue
            v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
            if c == "mark_price":
                nan = np.isnan(v)
                if nan.any():
                    col.add("error", "nan", "NaN price", np.flatnonzero(nan), c)
            with np.errstate(invalid="ignore"):
                bad = (v <= 0) if c in ("underlying_price", "index_price") else (v < 0)
            if bad.any():
                pos = np.flatnonzero(bad)
                col.add(
                    "error",
                    "nonpositive",
                    "invalid price",
                    pos,
                    c,
                    [f"invalid price {v[p]:g}" for p in pos[: col.cap]],
                )
    if kind == "funding" and "rate" in frame.columns:
        v = frame["rate"].to_numpy(dtype=np.float64)
        nan = np.isnan(v)
        if nan.any():
            col.add("error", "nan", "NaN funding rate", np.flatnonzero(nan), "rate")
    for c in _QTY_COLUMNS.get(kind, ()):
        if c not in frame.columns:
            continue
        if _all_positive(frame[c]):
            continue  # no NaN, no negative and no zero quantity
        v = frame[c].to_numpy(dtype=np.float64)
        nan = np.isnan(v)
        if nan.any():
            col.add("error", "nan", "NaN quantity", np.flatnonzero(nan), c)
        with np.errstate(invalid="ignore"):
            neg = v < 0
        if neg.any():
            pos = np.flatnonzero(neg)
            col.add(
                "error",
                "negative",
                "negative quantity",
                pos,
                c,
                [f"negative quantity {v[p]:g}" for p in pos[: col.cap]],
            )
        if kind == "ohlcv" and c == "volume":
            zero = v == 0
            if zero.any():
                col.add("info", "zero_volume", "zero-volume bar", np.flatnonzero(zero), c)
    if kind == "ohlcv" and all(c in frame.columns for c in ("open", "high", "low", "close")):
        o, h, lo, c_ = (
            frame[x].to_numpy(dtype=np.float64) for x in ("open", "high", "low", "close")
        )
        tol = _TOL * np.abs(h)
        with np.errstate(invalid="ignore"):
            up, dn = h + tol, lo - tol
            # fmax/fmin skip a NaN, so these equal the any() of the per-row tests below
            suspect = bool(
                (h < dn).any() or (np.fmax(o, c_) > up).any() or (np.fmin(o, c_) < dn).any()
            )
            if suspect:
                hl = h < dn
                cl = ((c_ > up) | (c_ < dn)) & ~hl
                op = ((o > up) | (o < dn)) & ~hl
            else:
                hl = cl = op = np.zeros(0, dtype=bool)
        if hl.any():
            pos = np.flatnonzero(hl)
            col.add(
                "error",
                "ohlc",
                "high < low",
                pos,
                "high",
                [f"high {h[p]:g} < low {lo[p]:g}" for p in pos[: col.cap]],
            )
        if cl.any():
            pos = np.flatnonzero(cl)
            col.add(
                "error",
                "ohlc",
                "close outside [low, high]",
                pos,
                "close",
                [f"close {c_[p]:g} outside [low {lo[p]:g}, high {h[p]:g}]" for p in pos[: col.cap]],
            )
        if op.any():
            pos = np.flatnonzero(op)
            col.add(
                "error",
                "ohlc",
                "open outside [low, high]",
                pos,
                "open",
                [f"open {o[p]:g} outside [low {lo[p]:g}, high {h[p]:g}]" for p in pos[: col.cap]],
            )
    if kind == "quotes" and "bid" in frame.columns and "ask" in frame.columns:
        b, a = frame["bid"].to_numpy(dtype=np.float64), frame["ask"].to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            crossed = b > a
        if crossed.any():
            col.add(
                "warning", "crossed", "crossed quote (bid > ask)", np.flatnonzero(crossed), "bid"
            )


def _float_values(s: pd.Series) -> np.ndarray | None:
    """The float64 values of a column without a copy, or None for any other dtype."""
    return s.to_numpy() if s.dtype == np.float64 else None


def _all_positive(s: pd.Series) -> bool:
    """True when a float64 column has no NaN and every value is > 0 (one pass; a NaN
    propagates into the minimum). False means "look closer", not "there is a problem"."""
    v = _float_values(s)
    if v is None or len(v) == 0:
        return False
    with np.errstate(invalid="ignore"):
        lo = v.min()
    return bool(lo > 0)  # NaN > 0 is False


def _no_nan(s: pd.Series) -> bool:
    v = _float_values(s)
    if v is None or len(v) == 0:
        return False
    return not np.isnan(v.min())


def _robust_scale(x: np.ndarray) -> tuple[float, float]:
    med = float(np.median(x))
    dev = np.abs(x - med)
    # the larger of the MAD and mean-absolute-deviation estimates of sigma: the MAD alone
    # collapses on series that sit on one value most of the time (funding at 0.01 %)
    scale = max(1.4826 * float(np.median(dev)), 1.2533 * float(np.mean(dev)))
    return med, scale


def _check_outliers(series: Series, frame: pd.DataFrame, col: _Collector, sigma: float) -> None:
    kind = series.kind
    if kind == "funding":
        if "rate" not in frame.columns:
            return
        v = frame["rate"].to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        if ok.sum() < 3:
            return
        med, scale = _robust_scale(v[ok])
        if not scale > 0:
            return
        z = np.abs(v - med) / scale
        pos = np.flatnonzero(ok & (z > sigma))
        if len(pos):
            col.add(
                "warning",
                "outlier",
                "outlier",
                pos,
                "rate",
                [
                    f"funding rate {v[p]:.6g} is {z[p]:.1f} robust sigmas from the median {med:.6g}"
                    for p in pos[: col.cap]
                ],
            )
        return
    if kind == "quotes" and "bid" in frame.columns and "ask" in frame.columns:
        price = (
            frame["bid"].to_numpy(dtype=np.float64) + frame["ask"].to_numpy(dtype=np.float64)
        ) / 2
        cname = "bid"
    else:
        cname = {"ohlcv": "close", "mark": "mark", "iv": "iv", "trades": "price"}.get(kind, "")
        if cname not in frame.columns:
            return
        price = frame[cname].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(price))
    ok = np.isfinite(r)
    if ok.sum() < 3:
        return
    med, scale = _robust_scale(r[ok])
    if not scale > 0:
        return
    z = np.abs(r - med) / scale
    pos = np.flatnonzero(ok & (z > sigma)) + 1
    if len(pos):
        col.add(
            "warning",
            "outlier",
            "outlier",
            pos,
            cname,
            [
                f"log return {r[p - 1]:+.4g} is {z[p - 1]:.1f} robust sigmas (flagged, kept)"
                for p in pos[: col.cap]
            ],
        )


def split_at_gaps(series: Series, interval: pd.Timedelta | str) -> list[Series]:
    """The contiguous segments of a series, cut at every gap of at least one interval."""
    interval = pd.Timedelta(interval)
    ts = series.frame.index.as_unit("ns").asi8
    if len(ts) < 2:
        return [series]
    _, pos, _ = _find_gaps(ts, interval)
    if len(pos) == 0:
        return [series]
    bounds = [0, *(int(p) + 1 for p in pos), len(ts)]
    out = []
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        meta = {**series.meta, "segment": k, "n_segments": len(bounds) - 1}
        out.append(replace(series, frame=series.frame.iloc[a:b], meta=meta))
    return out


def fill_gaps(series: Series, interval: pd.Timedelta | str) -> Series:
    """Insert the missing rows of every gap; add a boolean ``synthetic`` column.

    OHLCV: filled bars are flat at the previous close, volume-like columns 0. Other kinds:
    every column carries the previous value forward. Original rows are never changed.
    """
    interval = pd.Timedelta(interval)
    frame = series.frame
    frame = frame.set_axis(frame.index.as_unit("ns"), axis=0)
    ts = frame.index.asi8
    counts, pos, _ = _find_gaps(ts, interval) if len(ts) > 1 else ([], [], [])
    if len(pos) == 0:
        return replace(series, frame=frame.assign(synthetic=np.zeros(len(frame), dtype=bool)))
    new_ts = np.concatenate(
        [
            ts[p] + interval.value * np.arange(1, int(m) + 1)
            for p, m in zip(pos, counts, strict=True)
        ]
    )
    src = np.concatenate([np.full(int(m), p) for p, m in zip(pos, counts, strict=True)])
    filled = frame.iloc[src].copy()
    if series.kind == "ohlcv" and "close" in frame.columns:
        for c in ("open", "high", "low"):
            if c in filled.columns:
                filled[c] = filled["close"].to_numpy()
        for c in (
            "volume",
            "quote_volume",
            "n_trades",
            "contracts",
            "taker_buy_volume",
            "taker_buy_quote_volume",
        ):
            if c in filled.columns:
                filled[c] = 0.0
    filled.index = pd.DatetimeIndex(pd.to_datetime(new_ts, unit="ns", utc=True), name="ts")
    orig = frame.assign(synthetic=np.zeros(len(frame), dtype=bool))
    filled = filled.assign(synthetic=np.ones(len(filled), dtype=bool))
    out = pd.concat([orig, filled]).sort_index(kind="stable")
    out.index.name = "ts"
    meta = {**series.meta, "n_synthetic": len(filled)}
    return replace(series, frame=out, meta=meta)


_ERR_RE = re.compile(
    r"^(?P<file>[^:]+?)(?: row (?P<row>\d+))?(?: column '(?P<col>[^']*)')?: (?P<msg>.*)$", re.S
)


def validate_file(
    path: str | Path,
    *,
    gap_policy: GapPolicy = "warn",
    outlier_sigma: float | None = 15.0,
    expected_interval: pd.Timedelta | str | float | None = None,
    **load_kwargs: Any,
) -> list[ValidationReport]:
    """Load a file without the load-time checks and validate every series in it, naming
    rows by their source line. A file the loader cannot read at all gives one report with a
    single ``load`` error instead of raising. ``load_kwargs`` go to
    :func:`gammaperp.data.loaders.load` (``fmt``, ``rate_unit``, ``mapping``...)."""
    from gammaperp.data.loaders import load
    from gammaperp.data.loaders._common import collect_line_numbers

    name = Path(str(path)).name
    with collect_line_numbers() as sink:
        try:
            res = load(path, check=False, **load_kwargs)
        except DataError as exc:
            text = str(exc)
            m = _ERR_RE.match(text)
            if m and m.group("file") == name:
                issue = Issue(
                    "error",
                    "load",
                    m.group("msg"),
                    name,
                    row=int(m.group("row")) if m.group("row") else None,
                    column=m.group("col"),
                )
            else:
                issue = Issue("error", "load", text, name)
            return [ValidationReport(file=name, key="", n_rows=0, issues=[issue], result=None)]
    out = []
    for s in res if isinstance(res, list) else [res]:
        out.append(
            validate(
                s,
                gap_policy=gap_policy,
                outlier_sigma=outlier_sigma,
                expected_interval=expected_interval,
                line_numbers=sink.get(id(s)),
                file=name,
            )
        )
    return out
