"""Markets and runs shared by the analytics tests (built once per worker)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gammaperp
from gammaperp.market.model import Instrument, MarketBuilder, regular_index

T0 = int(pd.Timestamp("2024-01-01 00:00", tz="UTC").value)


def make_market(
    close,
    *,
    start_ns: int = T0,
    bar_seconds: float = 60.0,
    iv=None,
    skew: float = 0.0,
    curvature: float = 0.0,
    funding_bars=(),
    funding_rates=(),
    name: str = "PERP",
    venue: str = "venue",
    kind: str = "perp_linear",
    cs: float = 1.0,
):
    """One perp with ``close`` (open = previous close), optional IV and funding events."""
    close = np.asarray(close, dtype=float)
    ts = regular_index(start_ns, close.shape[0], bar_seconds)
    b = MarketBuilder(ts)
    fb = list(funding_bars)
    b.add_instrument(
        Instrument(name, venue, kind, underlying="BTC", contract_size=cs),
        close,
        funding_ts=ts[fb] if fb else None,
        funding_rate=list(funding_rates) if fb else None,
    )
    if iv is not None:
        b.set_iv("BTC", iv, skew=skew, curvature=curvature)
    return b.build()


@pytest.fixture(scope="session")
def synthetic_full():
    """The issue's reference run: 20,000 one-minute synthetic bars, long ATM straddle."""
    return gammaperp.run({"market": {"bars": 20000}})


@pytest.fixture(scope="session")
def synthetic_summary():
    return gammaperp.run({"market": {"bars": 20000}, "output": {"record": "summary"}})


@pytest.fixture(scope="session")
def short_3day():
    """Short 3-day straddles on the crash preset: five slots, four expiries."""
    return gammaperp.run(
        {
            "market": {"bars": 20000, "preset": "crash"},
            "strategy": {"expiry_days": 3, "side": "short"},
        }
    )


@pytest.fixture(scope="session")
def coin_margined():
    """Coin-settled straddle on a coin-margined venue (inverse perp of 10 USD contracts)."""
    return gammaperp.run(
        {
            "market": {"bars": 20000, "symbol": "BTCUSD_PERP"},
            "venues": [
                {
                    "name": "deribit",
                    "contract_type": "inverse",
                    "perp_symbol": "BTCUSD_PERP",
                    "contract_size": 10,
                    "initial_capital": 3,
                    "lot_size": 1,
                    "maintenance_tiers": "flat",
                }
            ],
            "strategy": {"option_settlement": "inverse"},
        }
    )
