"""Multi-instrument markets for strategy-template tests."""

from __future__ import annotations

import numpy as np

from gammaperp.market.model import Instrument, MarketBuilder, regular_index


def multi_market(legs, n, *, bar_seconds=60, iv=None):
    """``legs``: dicts with name, venue, kind, close (array), optional high/low/underlying,
    cs, tick, funding_bars, funding_rates, funding_hours."""
    ts = regular_index(0, n, bar_seconds)
    b = MarketBuilder(ts)
    for leg in legs:
        fb = leg.get("funding_bars", ())
        b.add_instrument(
            Instrument(
                leg["name"],
                leg["venue"],
                leg.get("kind", "perp_linear"),
                underlying=leg.get("underlying", "BTC"),
                contract_size=leg.get("cs", 1.0),
                tick_size=leg.get("tick", 0.01),
                lot_size=leg.get("lot", 0.0),
            ),
            np.asarray(leg["close"], dtype=float),
            high=leg.get("high"),
            low=leg.get("low"),
            funding_ts=ts[list(fb)] if len(fb) else None,
            funding_rate=list(leg.get("funding_rates", ())) if len(fb) else None,
            funding_interval_hours=leg.get("funding_hours", 8.0),
        )
    if iv is not None:
        for u in {leg.get("underlying", "BTC") for leg in legs}:
            b.set_iv(u, iv)
    return b.build()


def dip_path(n_cycles=12, level=100.0, dip=5.0):
    """Nine bars at ``level`` then one at ``level - dip``: every dip is below the band bottom,
    the next bar is back above the centre (re-arms) and nothing ever reaches the top."""
    one = np.full(10, level)
    one[-1] = level - dip
    return np.tile(one, n_cycles + 1)
