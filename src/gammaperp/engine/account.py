"""The engine's accounting primitives driven step by step from Python.

:class:`Account` holds the same flat state the kernel holds for one configuration (cash per
venue, position and average entry per instrument) and changes it only through the kernel's own
compiled primitives (``fill_nb``, ``fund_nb``, ``unrealized_nb``, ``maint_margin_nb``,
``liquidation_price_*_nb``). Paper trading and user notebooks use it, so live and backtest
accounting cannot drift apart.

>>> from gammaperp.engine.account import Account
>>> from gammaperp.market.model import Instrument
>>> acct = Account([Instrument("BTCUSDT", "binance", "perp_linear")], capital={"binance": 10_000})
>>> acct.fill("BTCUSDT", -5, 40_000.0, fee_rate=0.0)
(0.0, 0.0)
>>> acct.fund("BTCUSDT", mark=40_000.0, rate=0.0001)   # short receives 5 * 40,000 * 0.01 %
20.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gammaperp.engine._nb import fill_nb, fund_nb, unrealized_nb
from gammaperp.engine.margin import (
    get_tiers,
    liquidation_price_inverse_nb,
    liquidation_price_linear_nb,
    maint_margin_nb,
)
from gammaperp.errors import EngineError
from gammaperp.market.model import Instrument


@dataclass(frozen=True)
class Fill:
    """One fill as recorded by :meth:`Account.fill`."""

    instrument: str
    qty: float
    price: float
    fee: float
    realized: float


class Account:
    """Cash, positions and margin of one trader across venues (venue settlement currency)."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        capital: Mapping[str, float],
        *,
        tiers: Mapping[str, str] | None = None,
        flat_mmr: float = 0.005,
    ) -> None:
        self.instruments = tuple(instruments)
        self.venues = tuple(dict.fromkeys(i.venue for i in self.instruments))
        missing = [v for v in self.venues if v not in capital]
        if missing:
            raise EngineError(f"capital: no starting balance for venue(s) {missing}")
        self.cash = np.array([float(capital[v]) for v in self.venues])
        self.pos = np.zeros(len(self.instruments))
        self.entry = np.zeros(len(self.instruments))
        self._venue_of = np.array([self.venues.index(i.venue) for i in self.instruments])
        tiers = dict(tiers or {})
        self._tiers = {
            v: get_tiers(tiers.get(v, "binance-usdm-btc"), flat_mmr) for v in self.venues
        }
        self.fills: list[Fill] = []

    # ---- lookup --------------------------------------------------------------------------
    def _row(self, name: str) -> int:
        for i, inst in enumerate(self.instruments):
            if inst.name == name:
                return i
        raise EngineError(
            f"unknown instrument {name!r}; known: {[i.name for i in self.instruments]}"
        )

    def position(self, name: str) -> float:
        return float(self.pos[self._row(name)])

    def entry_price(self, name: str) -> float:
        return float(self.entry[self._row(name)])

    def balance(self, venue: str) -> float:
        return float(self.cash[self.venues.index(venue)])

    # ---- primitives ----------------------------------------------------------------------
    def fill(
        self, name: str, qty: float, price: float, *, fee_rate: float = 0.0004
    ) -> tuple[float, float]:
        """Apply a fill; returns ``(fee, realized P&L)`` in the venue's currency."""
        if not np.isfinite(qty) or qty == 0:
            raise EngineError(f"qty must be finite and non-zero, got {qty}")
        if not price > 0:
            raise EngineError(f"price must be > 0, got {price}")
        i = self._row(name)
        inst = self.instruments[i]
        fee, realized = fill_nb(
            self.cash,
            self.pos,
            self.entry,
            i,
            int(self._venue_of[i]),
            inst.kind_code,
            inst.contract_size,
            float(qty),
            float(price),
            float(fee_rate),
        )
        self.fills.append(Fill(name, float(qty), float(price), float(fee), float(realized)))
        return float(fee), float(realized)

    def fund(self, name: str, *, mark: float, rate: float) -> float:
        """Settle one funding event on the current position; returns the payment received."""
        if not mark > 0:
            raise EngineError(f"mark must be > 0, got {mark}")
        i = self._row(name)
        inst = self.instruments[i]
        if inst.kind == "spot":
            raise EngineError(f"{name}: spot has no funding")
        return float(
            fund_nb(
                self.cash,
                self.pos,
                i,
                int(self._venue_of[i]),
                inst.kind_code,
                inst.contract_size,
                float(mark),
                float(rate),
            )
        )

    def unrealized(self, name: str, price: float) -> float:
        i = self._row(name)
        inst = self.instruments[i]
        return float(
            unrealized_nb(
                inst.kind_code, inst.contract_size, self.pos[i], self.entry[i], float(price)
            )
        )

    def equity(self, venue: str, prices: Mapping[str, float]) -> float:
        """Wallet plus unrealised P&L of the venue's positions at ``prices`` (venue currency)."""
        v = self.venues.index(venue)
        e = float(self.cash[v])
        for i, inst in enumerate(self.instruments):
            if self._venue_of[i] == v and self.pos[i] != 0.0:
                e += self.unrealized(inst.name, prices[inst.name])
        return e

    def maint_margin(self, venue: str, marks: Mapping[str, float]) -> float:
        """Tiered maintenance margin of the venue's perp positions at ``marks``."""
        v = self.venues.index(venue)
        t = self._tiers[venue]
        m = 0.0
        for i, inst in enumerate(self.instruments):
            if self._venue_of[i] != v or self.pos[i] == 0.0 or inst.kind == "spot":
                continue
            mk = marks[inst.name]
            notional = abs(self.pos[i]) * inst.contract_size
            notional = notional / mk if inst.kind == "perp_inverse" else notional * mk
            m += maint_margin_nb(notional, t.notional_floor, t.notional_cap, t.mmr, t.maint_amount)
        return float(m)

    def margin_ratio(self, venue: str, marks: Mapping[str, float]) -> float:
        """Maintenance margin / equity at mark (>= 1 means liquidatable)."""
        m = self.maint_margin(venue, marks)
        e = self.equity(venue, marks)
        if m <= 0:
            return 0.0
        return float("inf") if e <= 0 else m / e

    def liquidation_price(self, name: str, marks: Mapping[str, float]) -> float:
        """Exchange-formula liquidation price of one position, everything else held fixed."""
        i = self._row(name)
        inst = self.instruments[i]
        if self.pos[i] == 0.0:
            return float("nan")
        venue = inst.venue
        t = self._tiers[venue]
        own_upnl = self.unrealized(name, marks[name])
        other_upnl = self.equity(venue, marks) - float(self.cash[self._venue_of[i]]) - own_upnl
        mk = marks[name]
        size = abs(self.pos[i]) * inst.contract_size
        own_n = size / mk if inst.kind == "perp_inverse" else size * mk
        own_m = maint_margin_nb(own_n, t.notional_floor, t.notional_cap, t.mmr, t.maint_amount)
        other_m = self.maint_margin(venue, marks) - own_m
        side = 1.0 if self.pos[i] > 0 else -1.0
        fn = (
            liquidation_price_inverse_nb
            if inst.kind == "perp_inverse"
            else liquidation_price_linear_nb
        )
        return float(
            fn(
                side,
                size,
                self.entry[i],
                float(self.cash[self._venue_of[i]]),
                other_m,
                other_upnl,
                t.notional_floor,
                t.notional_cap,
                t.mmr,
                t.maint_amount,
            )
        )


__all__ = ["Account", "Fill"]
