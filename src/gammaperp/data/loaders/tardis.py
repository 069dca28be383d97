"""Tardis.dev downloadable CSV datasets.

Every Tardis CSV starts with ``exchange, symbol, timestamp, local_timestamp``; both times are
µs since the epoch, UTC (``timestamp`` from the exchange, ``local_timestamp`` when Tardis
received the message; files are ordered by ``local_timestamp``). The loader checks that
order (ascending or newest-first, else an error naming the row), then indexes rows by the
exchange ``timestamp`` (stable sort) and keeps ``local_timestamp`` as ``local_ts`` (int64 ns).

Data types:

``trades``: ``id, side, price, amount`` -> kind ``trades``: ``price, qty``, ``side`` (+1
buy, -1 sell, 0 unknown).
``derivative_ticker``: ``funding_timestamp, funding_rate, predicted_funding_rate,
open_interest, last_price, index_price, mark_price`` -> kind ``mark``: ``mark, index,
funding_rate, predicted_funding_rate, open_interest, last_price, next_funding_ts`` (UTC
datetime). Rates are the exchange's decimal rates. Rows without a mark price (Tardis leaves
fields empty until the exchange sent them) are dropped, counted in
``meta["dropped_rows_without_mark"]``.
``quotes``: ``ask_amount, ask_price, bid_price, bid_amount`` -> kind ``quotes``.
``book_snapshot_{N}`` (N = 5, 25, ...): ``asks[i].price, asks[i].amount, bids[i].price,
bids[i].amount`` for i < N -> kind ``quotes`` with top of book ``bid, ask, bid_qty, ask_qty``
and every level kept as ``bid_price_{i}, bid_qty_{i}, ask_price_{i}, ask_qty_{i}``.
``incremental_book_L2``: ``is_snapshot, side, price, amount`` -> kind ``depth``: ``side`` (+1
bid, -1 ask), ``price, qty, is_snapshot`` (1.0/0.0).
``options_chain``: ``type, strike_price, expiration, open_interest, last_price, bid_price,
bid_amount, bid_iv, ask_price, ask_amount, ask_iv, mark_price, mark_iv, underlying_index,
underlying_price, delta, gamma, vega, theta, rho`` -> kind ``option_chain`` (``instrument`` =
symbol, ``expiry`` from the µs ``expiration``). IVs are converted to decimals:
``iv_unit="auto"`` reads them as percent when the median positive mark IV exceeds 3 (300 %
as a decimal is not a plausible median) and as decimals otherwise; pass ``iv_unit`` to
override. ``meta["premium_unit"]`` is "coin" for Deribit and OKX options, else "quote".

A file with several symbols (e.g. an options chain, or a multi-symbol trades export) gives a
list with one Series per symbol, except ``options_chain`` which is one Series per file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gammaperp.data.frames import Series
from gammaperp.data.loaders._common import (
    GapPolicy,
    Raw,
    epoch_to_ns,
    finish,
    head_lines,
    normalize_symbol,
    order_rows,
    read_csv,
    read_source,
    to_float,
)
from gammaperp.errors import DataError

BASE = ("exchange", "symbol", "timestamp", "local_timestamp")
TRADES = (*BASE, "id", "side", "price", "amount")
TICKER = (
    *BASE,
    "funding_timestamp",
    "funding_rate",
    "predicted_funding_rate",
    "open_interest",
    "last_price",
    "index_price",
    "mark_price",
)
QUOTES = (*BASE, "ask_amount", "ask_price", "bid_price", "bid_amount")
L2 = (*BASE, "is_snapshot", "side", "price", "amount")
OPTIONS = (
    *BASE,
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "last_price",
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_index",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)

DATA_TYPES = (
    "trades",
    "derivative_ticker",
    "quotes",
    "book_snapshot",
    "incremental_book_L2",
    "options_chain",
)

_SPOT_EXCHANGES = {
    "binance",
    "binance-us",
    "coinbase",
    "bitstamp",
    "kraken",
    "bitfinex",
    "okex",
    "huobi",
    "gate-io",
    "kucoin",
    "bybit-spot",
    "gemini",
}
_VENUE = {
    "binance-futures": "binance",
    "binance-delivery": "binance",
    "binance-options": "binance",
    "binance-european-options": "binance",
    "okex-swap": "okx",
    "okex-futures": "okx",
    "okex-options": "okx",
    "okex": "okx",
    "huobi-dm-swap": "htx",
    "huobi-dm-linear-swap": "htx",
    "huobi": "htx",
    "bybit-spot": "bybit",
    "bybit-options": "bybit",
    "gate-io-futures": "gate",
    "gate-io": "gate",
    "kucoin-futures": "kucoin",
}


def detect_data_type(header: list[str]) -> str | None:
    h = [c.strip() for c in header]
    if tuple(h[:4]) != BASE:
        return None
    rest = set(h[4:])
    if {"strike_price", "expiration", "mark_iv"} <= rest:
        return "options_chain"
    if {"mark_price", "index_price", "funding_rate"} <= rest:
        return "derivative_ticker"
    if "asks[0].price" in rest:
        return "book_snapshot"
    if {"is_snapshot", "side", "price", "amount"} <= rest:
        return "incremental_book_L2"
    if {"side", "price", "amount"} <= rest:
        return "trades"
    if {"ask_price", "bid_price"} <= rest:
        return "quotes"
    return None


def _venue_market(exchange: str, symbol: str) -> tuple[str, str, str]:
    ex = exchange.strip().lower()
    vn = _VENUE.get(ex, ex.split("-")[0])
    s = symbol.strip().upper()
    if s.endswith("-SWAP"):
        parts = s.split("-")
        sym = parts[0] + parts[1]
        return vn, sym, "perp" if parts[1] in ("USDT", "USDC") else "inverse_perp"
    sym, mk = normalize_symbol(s)
    if s in ("XBTUSD", "ETHUSD") and ex == "bitmex":
        return vn, s.replace("XBT", "BTC"), "inverse_perp"
    if mk:
        return vn, sym, mk
    if ex.endswith("-delivery"):
        return vn, sym, "future"
    if ex.endswith("options"):
        return vn, sym, "option"
    if ex in _SPOT_EXCHANGES:
        return vn, sym, "spot"
    if ex == "bybit":
        return vn, sym, "perp" if sym.endswith(("USDT", "USDC")) else "inverse_perp"
    return vn, sym, "perp"


def load_tardis(
    path: str | Path | Raw,
    *,
    data_type: str | None = None,
    venue: str | None = None,
    symbol: str | None = None,
    market: str | None = None,
    iv_unit: str = "auto",
    check: bool = True,
    gap_policy: GapPolicy = "warn",
) -> Series | list[Series]:
    """A Tardis CSV (any data type above) -> Series, or a list for multi-symbol files."""
    raw = path if isinstance(path, Raw) else read_source(path)
    head = head_lines(raw.head, 1)
    if not head:
        raise DataError(f"{raw.name}: file is empty")
    header = head[0].split(",")
    dt = data_type or detect_data_type(header)
    if dt is None:
        raise DataError(
            f"{raw.name} row 1: bad header: not a Tardis CSV (expected "
            f"{','.join(BASE)},...); got {head[0][:120]!r}"
        )
    if dt.startswith("book_snapshot"):
        dt = "book_snapshot"
    if dt not in DATA_TYPES:
        raise DataError(f"{raw.name}: unknown Tardis data type {dt!r}; one of {DATA_TYPES}")
    expected = {
        "trades": TRADES,
        "derivative_ticker": TICKER,
        "quotes": QUOTES,
        "incremental_book_L2": L2,
        "options_chain": OPTIONS,
        "book_snapshot": (
            *BASE,
            "asks[0].price",
            "asks[0].amount",
            "bids[0].price",
            "bids[0].amount",
        ),
    }[dt]
    strings = ["exchange", "symbol", "side", "type", "underlying_index", "id", "is_snapshot"]
    types = {"timestamp": "int", "local_timestamp": "int"}
    tab = read_csv(raw, expected=expected, types=types, strings=strings)
    f, lines = tab.frame, tab.lines
    name = raw.name
    ts, _ = epoch_to_ns(f["timestamp"], name, "timestamp", lines, unit="us")
    local, _ = epoch_to_ns(f["local_timestamp"], name, "local_timestamp", lines, unit="us")
    perm, order = order_rows(local, name, "local_timestamp", lines)
    if order == "descending":
        f = f.iloc[perm].reset_index(drop=True)
        ts, local, lines = ts[perm], local[perm], lines[perm]

    def num(col: str) -> np.ndarray:
        return to_float(f[col], name, col, lines)

    if dt == "options_chain":
        return _options(raw, f, ts, local, lines, num, venue, market, iv_unit, check)

    out: list[Series] = []
    sym_vals = f["symbol"].astype(str).to_numpy()
    for sym_raw in pd.unique(sym_vals):
        pos = np.flatnonzero(sym_vals == sym_raw)
        exch = str(f["exchange"].iloc[pos[0]])
        vn, sym, mk = _venue_market(exch, str(sym_raw))
        cols: dict[str, object] = {"local_ts": local[pos]}
        meta: dict[str, object] = {
            "format": f"tardis_{dt}",
            "tardis_exchange": exch,
            "source_symbol": str(sym_raw),
        }
        keep: tuple[str, ...] = ()
        sub_ts, sub_lines = ts[pos], lines[pos]
        if dt == "trades":
            kind = "trades"
            side = f["side"].astype(str).str.lower().to_numpy()[pos]
            cols |= {
                "price": num("price")[pos],
                "qty": num("amount")[pos],
                "side": np.select([side == "buy", side == "sell"], [1.0, -1.0], 0.0),
            }
        elif dt == "derivative_ticker":
            kind = "mark"
            mark = num("mark_price")[pos]
            keep_rows = ~np.isnan(mark)
            meta["dropped_rows_without_mark"] = int((~keep_rows).sum())
            fts = num("funding_timestamp")[pos]
            nft = pd.to_datetime(np.nan_to_num(fts, nan=0).astype(np.int64) * 1000, utc=True)
            nft = nft.where(~np.isnan(fts) & (fts > 0))
            cols |= {
                "mark": mark,
                "index": num("index_price")[pos],
                "funding_rate": num("funding_rate")[pos],
                "predicted_funding_rate": num("predicted_funding_rate")[pos],
                "open_interest": num("open_interest")[pos],
                "last_price": num("last_price")[pos],
                "next_funding_ts": nft,
            }
            keep = ("next_funding_ts",)
            cols = {
                k: (np.asarray(v)[keep_rows] if k != "next_funding_ts" else v[keep_rows])
                for k, v in cols.items()
            }
            sub_ts, sub_lines = sub_ts[keep_rows], sub_lines[keep_rows]
        elif dt == "quotes":
            kind = "quotes"
            cols |= {
                "bid": num("bid_price")[pos],
                "ask": num("ask_price")[pos],
                "bid_qty": num("bid_amount")[pos],
                "ask_qty": num("ask_amount")[pos],
            }
        elif dt == "book_snapshot":
            kind = "quotes"
            levels = sorted(
                {int(m.group(1)) for c in f.columns if (m := re.match(r"asks\[(\d+)\]\.price", c))}
            )
            cols |= {
                "bid": num("bids[0].price")[pos],
                "ask": num("asks[0].price")[pos],
                "bid_qty": num("bids[0].amount")[pos],
                "ask_qty": num("asks[0].amount")[pos],
            }
            for i in levels:
                for side, short in (("bids", "bid"), ("asks", "ask")):
                    if f"{side}[{i}].price" in f.columns:
                        cols[f"{short}_price_{i}"] = num(f"{side}[{i}].price")[pos]
                        cols[f"{short}_qty_{i}"] = num(f"{side}[{i}].amount")[pos]
            meta["levels"] = len(levels)
        else:  # incremental_book_L2
            kind = "depth"
            side = f["side"].astype(str).str.lower().to_numpy()[pos]
            bad = ~np.isin(side, ["bid", "ask"])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{name} row {sub_lines[i]} column 'side': {side[i]!r} is not bid/ask"
                )
            snap = f["is_snapshot"].astype(str).str.lower().to_numpy()[pos]
            cols |= {
                "side": np.where(side == "bid", 1.0, -1.0),
                "price": num("price")[pos],
                "qty": num("amount")[pos],
                "is_snapshot": (snap == "true").astype(np.float64),
            }
        res = finish(
            cols,
            sub_ts,
            sub_lines,
            name=name,
            ts_column="timestamp",
            kind=kind,
            venue=venue or vn,
            symbol=symbol or sym,
            market=market or mk,
            source=raw.source,
            meta=meta,
            sort="stable",
            check=check,
            gap_policy=gap_policy,
            keep_columns=keep,
        )
        out.extend(res if isinstance(res, list) else [res])
    return out[0] if len(out) == 1 else out


def _options(raw, f, ts, local, lines, num, venue, market, iv_unit, check) -> Series:
    name = raw.name
    exch = str(f["exchange"].iloc[0]) if len(f) else "deribit"
    vn = venue or _VENUE.get(exch, exch.split("-")[0])
    otype = f["type"].astype(str).str.strip().str.lower()
    bad = ~otype.isin(["call", "put"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{name} row {lines[i]} column 'type': {otype.iloc[i]!r} is not call/put")
    exp_ns, _ = epoch_to_ns(f["expiration"], name, "expiration", lines, unit="us")
    mark_iv = num("mark_iv")
    if iv_unit not in ("auto", "percent", "decimal"):
        raise DataError(f"{name}: iv_unit must be 'auto', 'percent' or 'decimal', not {iv_unit!r}")
    if iv_unit == "auto":
        pos_iv = mark_iv[mark_iv > 0]
        iv_unit = "percent" if len(pos_iv) and float(np.median(pos_iv)) > 3 else "decimal"
    scale = 0.01 if iv_unit == "percent" else 1.0

    def iv(col: str) -> np.ndarray:
        v = num(col)
        return np.where(v == 0, np.nan, v * scale)

    heads = f["symbol"].astype(str).str.split("-").str[0].str.upper()
    sym = str(heads.mode().iloc[0]) if len(f) else "BTC"
    cols: dict[str, object] = {
        "local_ts": local,
        "instrument": f["symbol"].astype(str).to_numpy(),
        "expiry": pd.to_datetime(exp_ns, unit="ns", utc=True),
        "strike": num("strike_price"),
        "option_type": otype.to_numpy(),
        "underlying_price": num("underlying_price"),
        "mark_price": num("mark_price"),
        "bid_price": num("bid_price"),
        "ask_price": num("ask_price"),
        "bid_qty": num("bid_amount"),
        "ask_qty": num("ask_amount"),
        "mark_iv": iv("mark_iv"),
        "bid_iv": iv("bid_iv"),
        "ask_iv": iv("ask_iv"),
        "delta": num("delta"),
        "gamma": num("gamma"),
        "vega": num("vega"),
        "theta": num("theta"),
        "rho": num("rho"),
        "open_interest": num("open_interest"),
        "last_price": num("last_price"),
        "underlying_index": f["underlying_index"].astype(str).to_numpy(),
    }
    coin = vn in ("deribit", "okx")
    meta = {
        "format": "tardis_options_chain",
        "tardis_exchange": exch,
        "premium_unit": "coin" if coin else "quote",
        "iv_source_unit": iv_unit,
    }
    return finish(  # type: ignore[return-value]
        cols,
        ts,
        lines,
        name=name,
        ts_column="timestamp",
        kind="option_chain",
        venue=vn,
        symbol=sym,
        market=market or "option",
        source=raw.source,
        meta=meta,
        sort="stable",
        check=check,
        keep_columns=("instrument", "expiry", "option_type", "underlying_index"),
    )
