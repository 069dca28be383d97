"""Raw Binance futures websocket captures (the hftbacktest ``.dat.gz`` layout).

Each line is ``<local receive time, µs since epoch> <JSON>``. The JSON is a combined-stream
message ``{"stream": "btcusdt@trade", "data": {...}}``, or (once, at the start) a REST
order-book snapshot ``{"lastUpdateId", "E", "T", "bids", "asks"}``. Exchange times inside
(``E`` event time, ``T`` transaction time) are ms.

Output, a dict of Series (keys present only when the capture has that stream):

``trades`` (``@trade``)
    ts = ``T``; ``price, qty, side`` (+1 buyer-initiated i.e. ``m`` false, -1 when the buyer
    was the maker), ``trade_id``, ``local_ts``. Non-``MARKET`` prints (e.g. ``INSURANCE_FUND``
    liquidation fills) are dropped and counted in ``meta["dropped_trades"]``.
``quotes`` (``@bookTicker``)
    ts = ``T``; ``bid, bid_qty, ask, ask_qty, update_id, local_ts``.
``mark`` (``@markPrice``)
    ts = ``E``; ``mark`` (p), ``index`` (i), ``funding_rate`` (r, decimal, the running
    estimate), ``est_settle_price`` (P), ``next_funding_ts`` (T, UTC datetime), ``local_ts``.
``depth`` (``@depth`` diffs plus the REST snapshot)
    A flat long frame, one row per price level: ts = ``T``; ``local_ts``, ``side`` (+1 bid,
    -1 ask), ``price``, ``qty`` (0 = remove the level), ``first_update_id`` (U),
    ``last_update_id`` (u), ``prev_update_id`` (pu), ``is_snapshot`` (1.0 for the REST
    snapshot rows, whose ``last_update_id`` is ``lastUpdateId`` and other ids NaN).
    Update ids are float64 (exact below 2**53).

Rows stay in exchange-time order; a stream whose exchange time goes backwards is an error
naming the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    Raw,
    finish,
    fmt_ts,
    normalize_symbol,
    parse_shared_name,
    read_source,
)
from gammaperp.errors import DataError


def _as_raw(src: str | Path | Raw) -> Raw:
    return src if isinstance(src, Raw) else read_source(src)


def _ascending(ts: np.ndarray, lines: np.ndarray, name: str, what: str) -> None:
    if len(ts) < 2:
        return
    back = np.flatnonzero(np.diff(ts) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise DataError(
            f"{name} row {lines[i]} column '{what}': exchange time {fmt_ts(ts[i])} is earlier "
            f"than row {lines[i - 1]} ({fmt_ts(ts[i - 1])}) in the same stream (unsorted rows)"
        )


def _split_lines(raw: Raw) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(source line numbers, local receive times in µs, parsed JSON messages)."""
    name = raw.name
    linenos: list[int] = []
    heads: list[int] = []
    bodies: list[bytes] = []
    for lineno, line in enumerate(raw.data.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        head, sep, body = line.partition(b" ")
        if not head.isdigit():
            raise DataError(
                f"{name} row {lineno}: line does not start with a µs receive timestamp "
                f"({head[:30]!r})"
            )
        if not sep or not body:
            raise DataError(f"{name} row {lineno}: no JSON after the receive timestamp")
        linenos.append(lineno)
        heads.append(int(head))
        bodies.append(body)
    try:
        msgs = json.loads(b"[" + b",".join(bodies) + b"]")
    except ValueError:
        msgs = []
        for lineno, body in zip(linenos, bodies, strict=True):
            try:
                msgs.append(json.loads(body))
            except ValueError as exc:
                raise DataError(f"{name} row {lineno}: invalid JSON ({exc})") from None
    if len(msgs) != len(bodies):  # a body that is itself a comma-joined list of values
        raise DataError(f"{name}: malformed JSON lines ({len(msgs)} values in {len(bodies)} lines)")
    return np.asarray(linenos, dtype=np.int64), np.asarray(heads, dtype=np.int64), msgs


def _col(ds: list[dict], key: str, lines: np.ndarray, name: str, dtype: Any) -> np.ndarray:
    try:
        if dtype is np.float64:
            return np.fromiter(map(float, [d[key] for d in ds]), dtype=np.float64, count=len(ds))
        return np.array([d[key] for d in ds], dtype=dtype)
    except (KeyError, TypeError, ValueError):
        for k, d in enumerate(ds):
            try:
                np.array([d[key]], dtype=dtype)
            except (KeyError, TypeError, ValueError):
                raise DataError(
                    f"{name} row {lines[k]} column {key!r}: missing or invalid value {d.get(key)!r}"
                ) from None
        raise


def load_binance_ws(
    path: str | Path | Raw,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    check: bool = True,
) -> dict[str, Series]:
    """Parse a raw websocket capture into trades / quotes / mark / depth Series."""
    raw = _as_raw(path)
    name = raw.name
    linenos, local_us, msgs = _split_lines(raw)
    groups: dict[str, list[int]] = {"trade": [], "book": [], "mark": [], "depth": [], "snap": []}
    dropped: dict[str, int] = {}
    unknown: dict[str, int] = {}
    symbols: set[str] = set()
    for k, msg in enumerate(msgs):
        if not isinstance(msg, dict):
            raise DataError(f"{name} row {linenos[k]}: expected a JSON object")
        stream = msg.get("stream")
        if stream is None:
            if "lastUpdateId" not in msg:
                raise DataError(
                    f"{name} row {linenos[k]}: message has neither 'stream' nor 'lastUpdateId'"
                )
            groups["snap"].append(k)
            continue
        d = msg.get("data")
        if not isinstance(d, dict):
            raise DataError(f"{name} row {linenos[k]}: stream message without a 'data' object")
        e = d.get("e")
        if e == "trade":
            x = d.get("X", "MARKET")
            if x != "MARKET":
                dropped[x] = dropped.get(x, 0) + 1
                continue
            groups["trade"].append(k)
        elif e == "bookTicker" or str(stream).endswith("@bookTicker"):
            groups["book"].append(k)
        elif e == "markPriceUpdate":
            groups["mark"].append(k)
        elif e == "depthUpdate":
            groups["depth"].append(k)
        else:
            unknown[str(stream)] = unknown.get(str(stream), 0) + 1
            continue
        s = d.get("s")
        if s:
            symbols.add(s)
    futures_hint = bool(groups["mark"]) or any("pu" in msgs[k]["data"] for k in groups["depth"][:1])

    info = parse_shared_name(Path(name).name)
    sym_raw = symbol or info.symbol or (sorted(symbols)[0] if len(symbols) == 1 else None)
    if not sym_raw:
        raise DataError(
            f"{name}: cannot infer the symbol (found {sorted(symbols) or 'none'}); pass symbol="
        )
    sym, sym_market = normalize_symbol(sym_raw)
    mk = market or info.market or sym_market or ("perp" if futures_hint else "spot")
    vn = venue or info.venue or "binance"
    common = {"venue": vn, "symbol": sym, "market": mk, "source": raw.source, "name": name}
    out: dict[str, Series] = {}
    if unknown:
        common_meta = {"ignored_streams": unknown}
    else:
        common_meta = {}

    def frame_of(
        idx: list[int],
        kind: str,
        tkey: str,
        spec: dict[str, str],
        meta: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Series:
        ds = [msgs[k]["data"] for k in idx]
        lines = linenos[idx]
        t = _col(ds, tkey, lines, name, np.int64) * 1_000_000
        _ascending(t, lines, name, tkey)
        data: dict[str, Any] = {
            c: _col(ds, key, lines, name, np.float64) for c, key in spec.items()
        }
        data["local_ts"] = local_us[idx] * 1000
        if kind == "trades":
            data["side"] = np.where(_col(ds, "m", lines, name, bool), -1.0, 1.0)
        if extra:
            data.update(extra(ds, lines) if callable(extra) else extra)
        return finish(  # type: ignore[return-value]
            data,
            t,
            lines,
            ts_column=tkey,
            kind=kind,
            meta={"format": "binance_ws_raw", **common_meta, **meta},
            check=check,
            keep_columns=("next_funding_ts",),
            **common,
        )

    if groups["trade"]:
        out["trades"] = frame_of(
            groups["trade"],
            "trades",
            "T",
            {"price": "p", "qty": "q", "trade_id": "t"},
            {"dropped_trades": dropped},
        )
    if groups["book"]:
        out["quotes"] = frame_of(
            groups["book"],
            "quotes",
            "T",
            {"bid": "b", "bid_qty": "B", "ask": "a", "ask_qty": "A", "update_id": "u"},
            {},
        )
    if groups["mark"]:

        def mark_extra(ds: list[dict], lines: np.ndarray) -> dict[str, Any]:
            def opt(key: str) -> np.ndarray:
                return np.array([d.get(key) or np.nan for d in ds], dtype=np.float64)

            nxt = np.array([d.get("T") or 0 for d in ds], dtype=np.int64)
            return {
                "funding_rate": opt("r"),
                "est_settle_price": opt("P"),
                "next_funding_ts": pd.to_datetime(nxt, unit="ms", utc=True).where(nxt > 0),
            }

        out["mark"] = frame_of(
            groups["mark"], "mark", "E", {"mark": "p", "index": "i"}, {}, mark_extra
        )
    if groups["depth"] or groups["snap"]:
        out["depth"] = _depth(msgs, groups, linenos, local_us, name, check, common)
    if not out:
        raise DataError(f"{name}: no trade, bookTicker, markPrice or depth message found")
    return out


def _depth(
    msgs: list[Any],
    groups: dict[str, list[int]],
    linenos: np.ndarray,
    local_us: np.ndarray,
    name: str,
    check: bool,
    common: dict[str, Any],
) -> Series:
    cols: dict[str, list] = {
        k: [] for k in ("k", "side", "price", "qty", "U", "u", "pu", "snap", "t")
    }
    diff_t = []
    for k in groups["depth"]:
        d = msgs[k]["data"]
        try:
            t = d.get("T") or d["E"]
            big_u, u, pu = d["U"], d["u"], d.get("pu", np.nan)
            levels = [(1.0, p, q) for p, q in d["b"]] + [(-1.0, p, q) for p, q in d["a"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{name} row {linenos[k]}: malformed depthUpdate ({exc!r})") from None
        diff_t.append(t)
        n = len(levels)
        cols["k"].extend([k] * n)
        cols["t"].extend([t] * n)
        cols["U"].extend([big_u] * n)
        cols["u"].extend([u] * n)
        cols["pu"].extend([pu] * n)
        cols["snap"].extend([0.0] * n)
        for side, p, q in levels:
            cols["side"].append(side)
            cols["price"].append(p)
            cols["qty"].append(q)
    for k in groups["snap"]:
        d = msgs[k]
        try:
            t = d.get("T") or d["E"]
            levels = [(1.0, p, q) for p, q in d["bids"]] + [(-1.0, p, q) for p, q in d["asks"]]
            uid = d["lastUpdateId"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{name} row {linenos[k]}: malformed depth snapshot ({exc!r})"
            ) from None
        n = len(levels)
        cols["k"].extend([k] * n)
        cols["t"].extend([t] * n)
        cols["U"].extend([np.nan] * n)
        cols["u"].extend([uid] * n)
        cols["pu"].extend([np.nan] * n)
        cols["snap"].extend([1.0] * n)
        for side, p, q in levels:
            cols["side"].append(side)
            cols["price"].append(p)
            cols["qty"].append(q)
    if groups["depth"]:
        _ascending(np.asarray(diff_t, dtype=np.int64), linenos[groups["depth"]], name, "T")
    k = np.asarray(cols["k"], dtype=np.int64)
    try:
        price = np.fromiter(map(float, cols["price"]), dtype=np.float64, count=len(k))
        qty = np.fromiter(map(float, cols["qty"]), dtype=np.float64, count=len(k))
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: invalid depth price/quantity ({exc})") from None
    data = {
        "local_ts": local_us[k] * 1000,
        "side": np.asarray(cols["side"], dtype=np.float64),
        "price": price,
        "qty": qty,
        "first_update_id": np.asarray(cols["U"], dtype=np.float64),
        "last_update_id": np.asarray(cols["u"], dtype=np.float64),
        "prev_update_id": np.asarray(cols["pu"], dtype=np.float64),
        "is_snapshot": np.asarray(cols["snap"], dtype=np.float64),
    }
    meta = {
        "format": "binance_ws_raw",
        "snapshot_levels": int((data["is_snapshot"] == 1.0).sum()),
        "n_updates": len(groups["depth"]),
    }
    return finish(  # type: ignore[return-value]
        data,
        np.asarray(cols["t"], dtype=np.int64) * 1_000_000,
        linenos[k],
        ts_column="T",
        kind="depth",
        meta=meta,
        sort="stable",
        check=check,
        **common,
    )
