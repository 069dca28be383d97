"""Named historical windows (stress and calm regimes) and what the store holds for them.

Every window is a half-open UTC interval ``[start, end)``. :func:`resolve` looks up the stored
bar series of the same base asset (``BTCUSDT`` -> every ``BTC*`` series: spot, perps, index),
funding and implied-vol series, and says for each how much of the window it covers and what
is missing, e.g.::

    no 1-minute BTC bars cover 2020-03-01..2020-04-01
    5-minute binance spot BTCUSDT bars cover 38.0 %: missing 2020-03-04 09:25 → 11:30, ...
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.data.resample import NS, bar_label, bar_words, infer_bar_seconds, parse_bar
from gammaperp.data.store import Store

__all__ = [
    "WINDOWS",
    "Coverage",
    "Window",
    "WindowResolution",
    "base_asset",
    "get_window",
    "resolve",
    "windows",
]

_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USD", "EUR", "BTC")
MAX_RANGES_SHOWN = 5


@dataclass(frozen=True)
class Window:
    """A named UTC interval ``[start, end)``."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    description: str

    @property
    def span(self) -> str:
        """``"2020-03-01..2020-04-01"`` (end exclusive)."""
        return f"{_fmt(self.start)}..{_fmt(self.end)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "description": self.description,
        }


def _w(name: str, start: str, end: str, description: str) -> Window:
    return Window(name, pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), description)


WINDOWS: dict[str, Window] = {
    w.name: w
    for w in (
        _w(
            "covid-crash-2020-03",
            "2020-03-01",
            "2020-04-01",
            "COVID crash: BTC roughly halved within 36 hours on 12-13 March 2020",
        ),
        _w(
            "low-vol-2020-q3",
            "2020-07-01",
            "2020-10-01",
            "Calm third quarter of 2020: BTC mostly between 9k and 12k, low realised vol",
        ),
        _w(
            "bull-2020-10-2021-04",
            "2020-10-01",
            "2021-04-15",
            "Bull run from 10k to the 14 April 2021 top near 65k, persistently high "
            "positive funding",
        ),
        _w(
            "chop-2021-04-06",
            "2021-04-15",
            "2021-07-01",
            "Top and chop: April top, the 19 May 2021 crash (-30 % intraday), range-bound June",
        ),
        _w(
            "luna-2022-05",
            "2022-05-01",
            "2022-06-01",
            "Terra/LUNA collapse and UST de-peg, 7-12 May 2022",
        ),
        _w(
            "low-vol-2022-q3",
            "2022-07-01",
            "2022-10-01",
            "Low-volatility bear market summer 2022 (after the Celsius/3AC sell-off)",
        ),
        _w(
            "ftx-2022-11",
            "2022-11-01",
            "2022-12-01",
            "FTX collapse, 6-11 November 2022",
        ),
        _w(
            "funding-spike-2024-02",
            "2024-02-01",
            "2024-03-01",
            "Spot-ETF inflow rally, February 2024: perp funding well above the 0.01 % / 8h "
            "baseline",
        ),
    )
}


def windows() -> list[Window]:
    """All named windows, oldest first."""
    return sorted(WINDOWS.values(), key=lambda w: w.start)


def get_window(name: str) -> Window:
    """The window called ``name``; unknown names raise ValueError listing the valid ones."""
    try:
        return WINDOWS[name]
    except KeyError:
        raise ValueError(f"unknown window {name!r}; valid windows: {', '.join(WINDOWS)}") from None


def base_asset(symbol: str) -> str:
    """``BTCUSDT`` -> ``BTC``, ``ETHUSD`` -> ``ETH``, ``BTC`` -> ``BTC``."""
    s = symbol.upper().replace("/", "").replace("-", "").replace("_", "").split(":")[0]
    s = s.removesuffix("PERP")
    for q in _QUOTES:
        if s.endswith(q) and len(s) > len(q):
            return s[: -len(q)]
    return s


def _fmt(ts: pd.Timestamp) -> str:
    ts = ts.tz_convert("UTC")
    if ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M")


def _fmt_range(a: pd.Timestamp, b: pd.Timestamp) -> str:
    """``2020-03-04 09:25 → 11:30`` within a day, else both ends in full."""
    if a.normalize() == b.normalize() and b != b.normalize():
        return f"{a.strftime('%Y-%m-%d %H:%M')} → {b.strftime('%H:%M')}"
    return f"{_fmt(a)} → {_fmt(b)}"


def _pct(fraction: float) -> str:
    if fraction >= 1.0:
        return "100 %"
    if fraction <= 0.0:
        return "0 %"
    return f"{math.floor(fraction * 1000) / 10:.1f} %"


@dataclass
class Coverage:
    """How much of a window one stored series covers.

    For bar series (OHLCV, daily IV) ``expected`` counts the bar slots of the window on the
    series' own grid and ``present`` the stored bars among them; ``missing`` lists the
    ``[first missing bar open, next stored bar open or window end)`` ranges. For funding
    ``expected`` is the window length / the funding interval and ``missing`` the stretches
    longer than 1.5 intervals without a settlement.
    """

    key: str
    venue: str
    symbol: str
    market: str
    kind: str
    bar_seconds: int | None
    expected: int
    present: int
    missing: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    interval_seconds: int | None = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.expected <= 0 else min(1.0, self.present / self.expected)

    @property
    def percent(self) -> str:
        return _pct(self.fraction)

    def missing_text(self, limit: int = MAX_RANGES_SHOWN) -> str:
        shown = [_fmt_range(a, b) for a, b in self.missing[:limit]]
        more = len(self.missing) - limit
        if more > 0:
            shown.append(f"and {more} more")
        return ", ".join(shown)

    def describe(self) -> str:
        if self.kind == "funding":
            hours = (self.interval_seconds or 0) / 3600
            text = (
                f"{self.venue} {self.market} {self.symbol} funding: {self.present} settlements, "
                f"{self.percent} of the {hours:g}h schedule"
            )
            if self.missing:
                text += f": none in {self.missing_text()}"
            return text
        what = "IV covers" if self.kind == "iv" else "bars cover"
        words = bar_words(self.bar_seconds) if self.bar_seconds else "irregular"
        text = f"{words} {self.venue} {self.market} {self.symbol} {what} {self.percent}"
        if self.missing:
            text += f": missing {self.missing_text()}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "venue": self.venue,
            "symbol": self.symbol,
            "market": self.market,
            "kind": self.kind,
            "bar": bar_label(self.bar_seconds) if self.bar_seconds else None,
            "expected": self.expected,
            "present": self.present,
            "coverage": self.fraction,
            "missing": [[a.isoformat(), b.isoformat()] for a, b in self.missing],
            "statement": self.describe(),
        }


@dataclass
class WindowResolution:
    """Which stored series cover a window, and what is missing.

    ``bars``: OHLCV candidates of the preferred bar sizes with some coverage, in preference
    order then by coverage. ``best``: the best candidate of the first preferred bar size
    whose coverage reaches ``min_coverage``, else the candidate with the highest coverage
    (ties go to the preferred bar); ``None`` when nothing covers any of the window.
    ``statements``: the window, one line per preferred bar size (or per candidate), then
    funding and IV.
    """

    window: Window
    symbol: str
    base: str
    prefer: tuple[int, ...]
    bars: list[Coverage]
    funding: list[Coverage]
    iv: list[Coverage]
    best: Coverage | None
    statements: list[str]

    @property
    def complete(self) -> bool:
        """The most preferred bar size covers the whole window."""
        return bool(
            self.best and self.best.fraction >= 1.0 and self.best.bar_seconds == self.prefer[0]
        )

    def summary(self) -> str:
        return "\n".join(self.statements)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.as_dict(),
            "symbol": self.symbol,
            "base": self.base,
            "prefer": [bar_label(b) for b in self.prefer],
            "best": self.best.as_dict() if self.best else None,
            "complete": self.complete,
            "bars": [c.as_dict() for c in self.bars],
            "funding": [c.as_dict() for c in self.funding],
            "iv": [c.as_dict() for c in self.iv],
            "statements": list(self.statements),
        }


def _stored_ts(store: Store, key: str, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    s = store.read(key, start=start, end=end, columns=[])
    return np.asarray(s.frame.index.as_unit("ns").asi8, dtype=np.int64)


def _bar_coverage(entry: dict[str, Any], ts: np.ndarray, bar: int, window: Window) -> Coverage:
    b = bar * NS
    s_ns, e_ns = int(window.start.value), int(window.end.value)
    first_ns = entry.get("first_ns")
    ref = int(ts[0]) if ts.shape[0] else int(first_ns if first_ns is not None else 0)
    offset = ref % b
    first_slot = s_ns + ((offset - s_ns) % b)
    expected = 0 if first_slot >= e_ns else (e_ns - 1 - first_slot) // b + 1
    on_grid = ts[(ts - offset) % b == 0]
    present = int(np.unique(on_grid).shape[0])
    missing: list[tuple[int, int]] = []
    if on_grid.shape[0] == 0:
        if expected:
            missing.append((first_slot, e_ns))
    else:
        if on_grid[0] > first_slot:
            missing.append((first_slot, int(on_grid[0])))
        d = np.diff(on_grid)
        for i in np.flatnonzero(d > b):
            missing.append((int(on_grid[i]) + b, int(on_grid[i + 1])))
        if int(on_grid[-1]) + b < e_ns:
            missing.append((int(on_grid[-1]) + b, e_ns))
    return Coverage(
        key=entry["key"],
        venue=entry["venue"],
        symbol=entry["symbol"],
        market=entry["market"],
        kind=entry["kind"],
        bar_seconds=bar,
        expected=int(expected),
        present=present,
        missing=[(_ns(a), _ns(z)) for a, z in missing],
    )


def _event_coverage(entry: dict[str, Any], ts: np.ndarray, window: Window) -> Coverage:
    meta_hours = None
    try:
        import json

        meta_hours = json.loads(entry.get("meta") or "{}").get("interval_hours")
    except ValueError:
        meta_hours = None
    interval = int(float(meta_hours) * 3600) if meta_hours else (infer_bar_seconds(ts) or 28800)
    iv_ns = interval * NS
    s_ns, e_ns = int(window.start.value), int(window.end.value)
    expected = round((e_ns - s_ns) / iv_ns)
    gap = 1.5 * iv_ns
    missing: list[tuple[int, int]] = []
    if ts.shape[0] == 0:
        missing.append((s_ns, e_ns))
    else:
        if ts[0] - s_ns >= gap:
            missing.append((s_ns, int(ts[0])))
        d = np.diff(ts)
        for i in np.flatnonzero(d >= gap):
            missing.append((int(ts[i]), int(ts[i + 1])))
        if e_ns - ts[-1] >= gap:
            missing.append((int(ts[-1]), e_ns))
    return Coverage(
        key=entry["key"],
        venue=entry["venue"],
        symbol=entry["symbol"],
        market=entry["market"],
        kind="funding",
        bar_seconds=None,
        expected=int(expected),
        present=int(ts.shape[0]),
        missing=[(_ns(a), _ns(z)) for a, z in missing],
        interval_seconds=interval,
    )


def _ns(v: int) -> pd.Timestamp:
    return pd.Timestamp(int(v), unit="ns", tz="UTC")


def _overlaps(entry: dict[str, Any], window: Window) -> bool:
    f, la = entry.get("first_ns"), entry.get("last_ns")
    if f is None or la is None:
        return False
    return int(la) >= int(window.start.value) and int(f) < int(window.end.value)


def resolve(
    name: str,
    store: Store,
    symbol: str = "BTCUSDT",
    prefer: Sequence[str | int] = ("1m", "5m", "1h"),
    *,
    min_coverage: float = 0.95,
) -> WindowResolution:
    """Which stored series cover window ``name`` for ``symbol``'s base asset (see module doc).

    Every stored OHLCV series whose base asset matches (``BTCUSDT`` matches ``BTCUSDT``,
    ``BTCUSD``, ``BTCUSDC``...) is a candidate, whatever its venue and market.
    """
    window = get_window(name)
    pref = tuple(parse_bar(p) for p in prefer)
    if not pref:
        raise ValueError("prefer: give at least one bar size, e.g. ('1m', '5m', '1h')")
    with store.session():
        return _resolve(window, store, symbol, pref, min_coverage)


def _resolve(
    window: Window, store: Store, symbol: str, pref: tuple[int, ...], min_coverage: float
) -> WindowResolution:
    base = base_asset(symbol)
    entries = [e for e in store.find() if base_asset(e["symbol"]) == base]

    bars: list[Coverage] = []
    statements: list[str] = [f"{window.name} ({window.span}): {window.description}"]
    for b in pref:
        found = []
        for e in entries:
            if e["kind"] != "ohlcv" or e["bar_seconds"] != b or not _overlaps(e, window):
                continue
            cov = _bar_coverage(e, _stored_ts(store, e["key"], window.start, window.end), b, window)
            if cov.present:
                found.append(cov)
        found.sort(key=lambda c: (-c.fraction, c.symbol.upper() != symbol.upper(), c.key))
        if not found:
            statements.append(f"no {bar_words(b)} {base} bars cover {window.span}")
        statements.extend(c.describe() for c in found)
        bars.extend(found)

    best: Coverage | None = None
    good = [c for c in bars if c.fraction >= min_coverage]
    if good:
        best = good[0]  # bars are in preference order, best coverage first
    elif bars:
        best = max(bars, key=lambda c: (c.fraction, -pref.index(c.bar_seconds or pref[0])))

    funding: list[Coverage] = []
    for e in entries:
        if e["kind"] == "funding" and _overlaps(e, window):
            ts = _stored_ts(store, e["key"], window.start, window.end)
            if ts.shape[0]:
                funding.append(_event_coverage(e, ts, window))
    funding.sort(key=lambda c: (-c.fraction, c.key))
    if funding:
        statements.extend(c.describe() for c in funding)
    else:
        statements.append(f"no {base} funding series cover {window.span}")

    ivs: list[Coverage] = []
    for e in entries:
        if e["kind"] == "iv" and _overlaps(e, window):
            ts = _stored_ts(store, e["key"], window.start, window.end)
            b = e["bar_seconds"] or infer_bar_seconds(ts)
            if ts.shape[0] and b:
                ivs.append(_bar_coverage(e, ts, int(b), window))
    ivs.sort(key=lambda c: (-c.fraction, c.key))
    if ivs:
        statements.extend(c.describe() for c in ivs)
    else:
        statements.append(f"no {base} implied-vol series cover {window.span}")

    return WindowResolution(
        window=window,
        symbol=symbol.upper(),
        base=base,
        prefer=pref,
        bars=bars,
        funding=funding,
        iv=ivs,
        best=best,
        statements=statements,
    )
