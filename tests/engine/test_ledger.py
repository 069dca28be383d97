"""Hand-checkable ledgers: every cash flow of a 10-bar path asserted exactly."""

from __future__ import annotations

import numpy as np
import pytest

from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.specs import ExecutionSpec, ScriptedOrders

CLOSE = [100.0, 101.0, 103.0, 102.0, 105.0, 104.0, 100.0, 98.0, 99.0, 100.0]
ORDERS = ScriptedOrders(bar=[1, 3, 6, 8], instrument=["PERP"] * 4, qty=[2.0, -1.0, -3.0, 2.0])


def _run(market_factory, taker=0.0004, funding=True, **ex):
    m = market_factory(CLOSE, funding_bars=(4,) if funding else (), funding_rates=(0.001,))
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=taker,
                maker_fee=0.0,
                capital=1000.0,
                tiers="flat",
                flat_mmr=0.005,
            ),
        ),
        strategy=None,
        execution=ExecutionSpec(**ex),
        orders=ORDERS,
    )
    return simulate(m, spec)


def test_golden_ledger_with_fees_and_funding(market_factory):
    r = _run(market_factory)
    # fills at the bar close: buy 2 @101, sell 1 @102, sell 3 @100 (flip), buy 2 @99
    t = r.trades
    assert list(t["bar"]) == [1, 3, 6, 8]
    assert list(t["price"]) == [101.0, 102.0, 100.0, 99.0]
    np.testing.assert_allclose(t["fee"], [0.0808, 0.0408, 0.12, 0.0792], rtol=0, atol=1e-12)
    assert list(t["reason"]) == ["user"] * 4
    assert (t["slippage"] == 0).all()
    # funding at bar 4 on the 1 long carried in, mark = close 105, rate 0.1 %: pays 0.105
    f = r.funding
    assert list(f["bar"]) == [4]
    assert f["position"].iloc[0] == 1.0
    assert f["payment"].iloc[0] == pytest.approx(-0.105, abs=1e-12)
    expected_equity = [
        1000.0,
        999.9192,
        1003.9192,
        1001.8784,
        1004.7734,
        1003.7734,
        999.6534,
        1003.6534,
        1001.5742,
        1001.5742,
    ]
    np.testing.assert_allclose(r.equity["equity"], expected_equity, rtol=0, atol=1e-9)
    expected_perp = [0.0, 0.0, 4.0, -2.0, 3.0, -1.0, -4.0, 4.0, -2.0, 0.0]
    np.testing.assert_allclose(r.equity["perp_pnl"], expected_perp, rtol=0, atol=1e-12)
    s = r.summary
    assert s["total_pnl"] == pytest.approx(1.5742, abs=1e-9)
    assert s["perp_pnl"] == pytest.approx(2.0, abs=1e-12)
    assert s["fees"] == pytest.approx(0.3208, abs=1e-12)
    assert s["funding"] == pytest.approx(-0.105, abs=1e-12)
    assert s["max_abs_residual"] < 1e-9
    assert (r.equity["hedge_position"] == 0).all()  # no strategy: no hedge instrument


def test_golden_ledger_without_fees(market_factory):
    r = _run(market_factory, taker=0.0, funding=False)
    assert r.summary["total_pnl"] == pytest.approx(2.0, abs=1e-12)
    assert r.summary["fees"] == 0.0
    assert r.funding.empty
    np.testing.assert_allclose(
        r.equity["equity"], [1000, 1000, 1004, 1002, 1005, 1004, 1000, 1004, 1002, 1002], atol=1e-12
    )


def test_fixed_bps_slippage_recorded_separately(market_factory):
    r = _run(market_factory, taker=0.0, funding=False, slippage="fixed_bps", slippage_bps=10)
    t = r.trades
    # 10 bps worse than the close: buys pay more, sells receive less
    np.testing.assert_allclose(t["price"], [101.101, 101.898, 99.9, 99.099], atol=1e-12)
    np.testing.assert_allclose(t["slippage"], [0.202, 0.102, 0.3, 0.198], atol=1e-12)
    assert r.summary["slippage"] == pytest.approx(0.802, abs=1e-12)
    assert r.summary["total_pnl"] == pytest.approx(2.0 - 0.802, abs=1e-12)
    assert r.summary["max_abs_residual"] < 1e-9


def test_latency_shifts_fills_by_whole_bars(market_factory):
    # 90 s of latency on 60 s bars: the first bar at or after t + 90 s is t + 2
    r = _run(market_factory, taker=0.0, funding=False, latency_ms=90_000)
    t = r.trades
    assert list(t["decided_bar"]) == [1, 3, 6]
    assert list(t["bar"]) == [3, 5, 8]  # the order decided at bar 8 would fill at bar 10
    assert list(t["price"]) == [102.0, 104.0, 99.0]
    # exactly one bar of latency
    r1 = _run(market_factory, taker=0.0, funding=False, latency_ms=60_000)
    assert list(r1.trades["bar"]) == [2, 4, 7, 9]


def test_limit_orders_fill_only_through_the_limit(market_factory):
    close = [100.0, 100.0, 101.0, 100.0, 99.8, 100.0]
    low = [100.0, 100.0, 100.5, 99.5, 99.0, 99.9]
    high = [100.0, 100.2, 101.2, 100.4, 100.1, 100.2]
    m = market_factory(close, low=low, high=high)
    orders = ScriptedOrders(
        bar=[1], instrument=["PERP"], qty=[2.0], order_type=["limit"], limit=[99.5]
    )
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="venue", taker_fee=0.0004, maker_fee=-0.0001, capital=1000.0, tiers="flat"
            ),
        ),
        strategy=None,
        orders=orders,
    )
    r = simulate(m, spec)
    t = r.trades
    # rests from bar 2; bar 3 touches 99.5 (not through); bar 4 trades through -> fills at 99.5
    assert list(t["bar"]) == [4]
    assert t["price"].iloc[0] == 99.5
    assert t["order_type"].iloc[0] == "limit"
    assert t["fee"].iloc[0] == pytest.approx(-2 * 99.5 * 0.0001, abs=1e-15)  # maker rebate
    # equity at bar 4: rebate received + 2 * (99.8 - 99.5)
    assert r.equity["equity"].iloc[4] == pytest.approx(1000 + 0.0199 + 0.6, abs=1e-12)
    assert r.summary["max_abs_residual"] < 1e-9


def test_feed_latency_from_local_timestamps():
    from gammaperp.market.model import Instrument, MarketBuilder, regular_index

    ts = regular_index(0, 10, 60)
    # the trader sees each bar 70 s late: an order decided at bar 1 cannot fill before bar 3
    b = MarketBuilder(ts, local_ts=ts + 70 * 10**9)
    b.add_instrument(Instrument("PERP", "venue", "perp_linear"), CLOSE)
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.0, capital=1000.0, tiers="flat"),),
        strategy=None,
        orders=ORDERS,
    )
    r = simulate(b.build(), spec)
    assert list(r.trades["bar"]) == [3, 5, 8]
    # plus 60 s of order latency: 130 s after the bar -> three bars later
    spec2 = RunSpec(
        venues=spec.venues, strategy=None, orders=ORDERS, execution=ExecutionSpec(latency_ms=60_000)
    )
    assert list(simulate(b.build(), spec2).trades["bar"]) == [4, 6, 9]
