"""Python strategies written against :mod:`gammaperp.strategies.protocol` - templates to copy.

``DeltaBand`` is the compiled delta-band hedge written in plain Python (the parity test shows
both produce the same ledger); ``TimeHedge`` hedges to zero every N bars.
"""

from __future__ import annotations

from dataclasses import dataclass

from gammaperp.strategies.protocol import Order, State


@dataclass
class DeltaBand:
    """Hedge ``instrument`` back to zero net delta when |option delta + hedge| > ``band``."""

    instrument: str = "BTCUSDT"
    band: float = 0.05

    def decide(self, state: State) -> list[Order]:
        net = state.net_delta(self.instrument)
        if abs(net) > self.band:
            q = state.qty_for_delta(self.instrument, -net)
            if q != 0.0:
                return [Order(self.instrument, q, reason="hedge")]
        return []


@dataclass
class TimeHedge:
    """Hedge to zero every ``every`` bars, whatever the delta."""

    instrument: str = "BTCUSDT"
    every: int = 60

    def decide(self, state: State) -> list[Order]:
        if state.t % self.every:
            return []
        net = state.net_delta(self.instrument)
        q = state.qty_for_delta(self.instrument, -net)
        return [Order(self.instrument, q, reason="hedge")] if q else []
