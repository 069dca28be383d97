"""Small markets for engine tests."""

from __future__ import annotations

import numpy as np
import pytest

from gammaperp.market.model import Instrument, MarketBuilder, regular_index


def make_market(
    close,
    *,
    high=None,
    low=None,
    open_=None,
    kind="perp_linear",
    cs=1.0,
    funding_bars=(),
    funding_rates=(),
    iv=None,
    bar_seconds=60,
    name="PERP",
    venue="venue",
    underlying="BTC",
    volume=None,
    spread=None,
    mark=None,
):
    close = np.asarray(close, dtype=float)
    ts = regular_index(0, close.shape[0], bar_seconds)
    b = MarketBuilder(ts)
    fts = ts[list(funding_bars)] if len(funding_bars) else None
    b.add_instrument(
        Instrument(name, venue, kind, underlying=underlying, contract_size=cs),
        close,
        high=high,
        low=low,
        open=open_,
        volume=volume,
        spread=spread,
        mark=mark,
        funding_ts=fts,
        funding_rate=list(funding_rates) if len(funding_bars) else None,
    )
    if iv is not None:
        b.set_iv(underlying, iv)
    return b.build()


@pytest.fixture
def market_factory():
    return make_market
