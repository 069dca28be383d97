"""The Python strategy protocol: write a trigger or an overlay as ``decide(state) -> orders``.

A strategy is any object with a ``decide(state)`` method (a plain function works too). The
compiled kernel runs as usual - funding, expiries, fills, the built-in template (if any) -
and at each bar, after the built-in strategy decided and before new orders fill, it hands a
:class:`State` to ``decide``; the :class:`Order` objects it returns enter the same order
queue as the kernel's own (latency, slippage, fees, margin checks all apply). Accounting is
never re-implemented in Python. It is slower than the compiled built-ins: one object-mode
call per bar costs about 6 us (measured: 0.6 s per 100,000 bars with a trivial ``decide``;
1.7 s with the delta band below), plus what ``decide`` itself costs.

>>> from gammaperp.strategies import Order
>>> class DeltaBand:
...     def __init__(self, band): self.band = band
...     def decide(self, state):
...         net = state.net_delta("BTCUSDT")   # options + position + in-flight orders
...         if abs(net) > self.band:
...             return [Order("BTCUSDT", state.qty_for_delta("BTCUSDT", -net), reason="hedge")]
...         return []

Run it with ``gammaperp.engine.simulate(market, spec, strategy=DeltaBand(0.05))`` - with
``spec.strategy`` a straddle whose ``hedge_instrument`` is None, the options come from the
built-in template and the hedging from Python (see :mod:`gammaperp.strategies.examples`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from gammaperp.engine import enums as E
from gammaperp.errors import EngineError

_REASON_CODES = {name: code for code, name in E.REASONS.items()}


@dataclass(frozen=True)
class Order:
    """An order from a Python strategy.

    ``instrument``: market name (or row); ``venue`` picks among same-named instruments;
    ``qty`` signed contracts (+ buy, - sell); ``type`` "market" (fills at the close of bar
    t + latency) or "limit" (rests from the next bar at ``limit``, maker fee); ``reason`` one of
    the blotter reasons (``gammaperp.engine.enums.REASONS``: "user", "hedge", "entry", ...).
    """

    instrument: str | int
    qty: float
    type: str = "market"
    limit: float = 0.0
    reason: str = "user"
    venue: str | None = None


@runtime_checkable
class Strategy(Protocol):
    def decide(self, state: State) -> Sequence[Order]: ...


class State:
    """What a Python strategy sees at bar ``t`` (after this bar's fills, before new orders).

    Prices are this bar's (close, mark, index); positions in contracts; ``option_delta`` the
    open options' delta (coin of the underlying, at the bar's index and implied vol). The
    arrays are the kernel's own (read them, do not write).
    """

    __slots__ = ("_ctx", "cash", "entry", "option_delta", "orders", "pos", "slots", "t")

    def __init__(self, ctx, t, option_delta, cash, pos, entry, slots, orders):
        self._ctx = ctx
        self.t = int(t)
        self.option_delta = float(option_delta)
        self.cash = cash
        self.pos = pos
        self.entry = entry
        self.slots = slots
        self.orders = orders

    # ---- lookups --------------------------------------------------------------------------
    @property
    def market(self):
        return self._ctx.market

    @property
    def ts(self) -> int:
        """Bar close time, UTC nanoseconds."""
        return int(self._ctx.market.ts[self.t])

    def row(self, instrument: str | int, venue: str | None = None) -> int:
        return self._ctx.row(instrument, venue)

    def close(self, instrument: str | int, venue: str | None = None) -> float:
        return float(self._ctx.market.close[self.row(instrument, venue), self.t])

    def mark(self, instrument: str | int, venue: str | None = None) -> float:
        return float(self._ctx.market.mark[self.row(instrument, venue), self.t])

    def index(self, instrument: str | int, venue: str | None = None) -> float:
        return float(self._ctx.market.index[self.row(instrument, venue), self.t])

    def history(self, instrument: str | int, n: int, venue: str | None = None) -> np.ndarray:
        """The last ``n`` closes up to and including this bar (no look-ahead)."""
        i = self.row(instrument, venue)
        return self._ctx.market.close[i, max(0, self.t - n + 1) : self.t + 1]

    def position(self, instrument: str | int, venue: str | None = None) -> float:
        return float(self.pos[self.row(instrument, venue)])

    def pending(self, instrument: str | int, venue: str | None = None) -> float:
        """Contracts of the instrument's in-flight market orders (decided, not filled yet)."""
        i = self.row(instrument, venue)
        o = self.orders
        live = (o[:, 0] != 0.0) & (o[:, 1] == i) & (o[:, 3] == E.ORDER_MARKET)
        return float(o[live, 2].sum())

    def delta(self, instrument: str | int, venue: str | None = None, *, pending=False) -> float:
        """Coin delta of the position (plus in-flight orders with ``pending``)."""
        i = self.row(instrument, venue)
        q = self.pos[i] + (self.pending(i) if pending else 0.0)
        inst = self._ctx.market.instruments[i]
        if inst.kind == "perp_inverse":
            return float(q * inst.contract_size / self._ctx.market.close[i, self.t])
        return float(q * inst.contract_size)

    def net_delta(self, instrument: str | int, venue: str | None = None) -> float:
        """Options' delta plus the instrument's position and its in-flight market orders, summed
        in the kernel's order (so a Python hedge sees bit for bit the compiled hedge's number)."""
        i = self.row(instrument, venue)
        inst = self._ctx.market.instruments[i]
        px = float(self._ctx.market.close[i, self.t])
        cs = inst.contract_size
        inv = inst.kind == "perp_inverse"
        p_i = float(self.pos[i])
        net = self.option_delta + (p_i * cs / px if inv else p_i * cs)
        o = self.orders
        live = np.flatnonzero((o[:, 0] != 0.0) & (o[:, 1] == i) & (o[:, 3] == E.ORDER_MARKET))
        for q in o[live, 2].tolist():  # one at a time, in slot order: the kernel's sum
            net += q * cs / px if inv else q * cs
        return float(net)

    def qty_for_delta(self, instrument: str | int, delta: float, venue=None) -> float:
        """Contracts of the instrument carrying ``delta`` coin, rounded to its lot size."""
        i = self.row(instrument, venue)
        inst = self._ctx.market.instruments[i]
        if inst.kind == "perp_inverse":
            q = delta * self._ctx.market.close[i, self.t] / inst.contract_size
        else:
            q = delta / inst.contract_size
        lot = inst.lot_size
        return float(round(q / lot) * lot) if lot > 0 else float(q)

    def equity(self) -> float:
        """Total equity in USD at this bar's close (options at this bar's value)."""
        from gammaperp.engine._nb import _equity_usd_nb

        km = self._ctx.km
        a = km.arrays
        return float(
            _equity_usd_nb(self.cash, self.pos, self.entry, self.slots, a[11], a[12], a[13],
                           a[1], a[8], km.venue_fx_inst, self.t)
        )  # fmt: skip


class _Context:
    def __init__(self, strategy, market, km):
        decide = getattr(strategy, "decide", None)
        if decide is None:
            if not callable(strategy):
                raise EngineError("a Python strategy needs a decide(state) method")
            decide = strategy
        self.decide: Callable[[State], Any] = decide
        self.market = market
        self.km = km
        self._rows: dict[tuple[Any, Any], int] = {}

    def row(self, instrument, venue=None) -> int:
        key = (instrument, venue)
        r = self._rows.get(key)
        if r is None:
            if isinstance(instrument, int | np.integer):
                r = int(instrument)
                if not 0 <= r < self.market.n_instruments:
                    raise EngineError(f"order: instrument row {r} out of range")
            else:
                r = self.market.instrument_index(instrument, venue)
            self._rows[key] = r
        return r


_ACTIVE: list[_Context] = []


class active:
    """Context manager making ``strategy`` the one the kernel's bridge calls."""

    def __init__(self, strategy, market, km):
        self.ctx = _Context(strategy, market, km)

    def __enter__(self):
        _ACTIVE.append(self.ctx)
        return self.ctx

    def __exit__(self, *exc):
        _ACTIVE.pop()
        return False


def dispatch(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf) -> int:
    """Called by the kernel (object mode): runs ``decide`` and writes its orders."""
    ctx = _ACTIVE[-1]
    out = ctx.decide(State(ctx, t, opt_delta, cash, pos, entry, slots, orders)) or ()
    n = 0
    for o in out:
        if n >= py_buf.shape[0]:
            raise EngineError(f"bar {t}: a strategy may send at most {py_buf.shape[0]} orders")
        if not isinstance(o, Order):
            raise EngineError(f"bar {t}: decide() must return Order objects, got {o!r}")
        q = float(o.qty)
        if q == 0.0:
            continue
        if not np.isfinite(q):
            raise EngineError(f"bar {t}: order qty must be finite, got {o.qty!r}")
        if o.type not in ("market", "limit"):
            raise EngineError(f"bar {t}: order type must be 'market' or 'limit', got {o.type!r}")
        if o.type == "limit" and not o.limit > 0:
            raise EngineError(f"bar {t}: a limit order needs a positive limit price")
        reason = _REASON_CODES.get(o.reason)
        if reason is None:
            raise EngineError(
                f"bar {t}: unknown reason {o.reason!r}; use one of {sorted(_REASON_CODES)}"
            )
        py_buf[n, 0] = ctx.row(o.instrument, o.venue)
        py_buf[n, 1] = q
        py_buf[n, 2] = E.ORDER_LIMIT if o.type == "limit" else E.ORDER_MARKET
        py_buf[n, 3] = float(o.limit)
        py_buf[n, 4] = reason
        n += 1
    return n
