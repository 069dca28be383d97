"""Tick replay: the raw Binance websocket capture runs through the same market model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gammaperp.data.loaders import load
from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.specs import ExecutionSpec, ScriptedOrders
from gammaperp.market.build import market_from_trades
from gammaperp.market.model import Instrument

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TICKS = SHARED / "ticks" / "binance_usdm_perp_BTCUSDT_raw_ws_20230404.dat.gz"
pytestmark = pytest.mark.skipif(not TICKS.exists(), reason="../shared/data not present")


@pytest.fixture(scope="module")
def tick_market():
    series = {s.kind: s for s in load(TICKS)}
    inst = Instrument("BTCUSDT", "binance", "perp_linear", tick_size=0.1, lot_size=0.001)
    return market_from_trades(
        series["trades"], inst, quotes=series["quotes"], mark=series["mark"], iv=0.5
    ), series


def test_trades_collapse_per_timestamp(tick_market):
    m, series = tick_market
    f = series["trades"].frame
    assert m.n_bars == f.index.nunique()
    assert m.volume[0].sum() == pytest.approx(f["qty"].sum(), rel=1e-12)
    # the close of each step is the last trade at that timestamp
    last = f.groupby(level=0)["price"].last().to_numpy()
    np.testing.assert_array_equal(m.close[0], last)
    # the trader never sees a step before it happened
    assert (m.local_ts >= m.ts).all()


def test_latency_on_ticks_counts_from_receive_time(tick_market):
    m, _ = tick_market
    bars = [10, 200, 500]
    spec = RunSpec(
        venues=(VenueSpec(name="binance", taker_fee=0.0004, capital=100_000.0, tiers="flat"),),
        strategy=None,
        execution=ExecutionSpec(latency_ms=250.0, slippage="half_spread"),
        orders=ScriptedOrders(bar=bars, instrument=["BTCUSDT"] * 3, qty=[0.5, -1.0, 0.5]),
    )
    r = simulate(m, spec)
    t = r.trades
    expected = np.searchsorted(m.ts, m.local_ts[bars] + 250_000_000, side="left")
    assert list(t["bar"]) == list(expected)
    assert (t["bar"].to_numpy() > np.array(bars)).all()
    # half-spread slippage from the book ticker as of each fill
    np.testing.assert_allclose(
        t["slippage"].to_numpy(), np.abs(t["qty"]) * m.spread[0][expected] / 2, atol=1e-9
    )
    assert r.summary["max_abs_residual"] < 1e-9 * 30_000
