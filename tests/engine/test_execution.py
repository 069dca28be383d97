"""Slippage models, latency distributions and spot accounting, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.core import latency_due_bars, trailing_sigma
from gammaperp.engine.specs import ExecutionSpec, ScriptedOrders
from gammaperp.market.model import Instrument, MarketBuilder, regular_index

CLOSE = np.array([100.0, 101.0, 99.0, 102.0, 104.0, 103.0, 107.0, 105.0])
VOL = np.array([10.0, 10.0, 10.0, 10.0, 4.0, 10.0, 10.0, 10.0])


def _sigma_by_hand(close, window, t):
    r = np.diff(np.log(close[: t + 1]))
    if t < 2:
        return 0.0
    return float(np.std(r[-window:], ddof=1))


def test_trailing_sigma_matches_numpy():
    s = trailing_sigma(CLOSE[None, :], 3)[0]
    for t in range(len(CLOSE)):
        assert s[t] == pytest.approx(_sigma_by_hand(CLOSE, 3, t), rel=1e-9, abs=1e-15)


def _run(market_factory, **ex):
    m = market_factory(CLOSE, volume=VOL)
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.0, capital=10_000.0, tiers="flat"),),
        strategy=None,
        execution=ExecutionSpec(sigma_window=3, **ex),
        orders=ScriptedOrders(bar=[4, 6], instrument=["PERP", "PERP"], qty=[2.0, -1.0]),
    )
    return simulate(m, spec)


def test_vol_scaled_slippage(market_factory):
    r = _run(market_factory, slippage="vol_scaled", vol_k=0.5)
    t = r.trades
    for row, (bar, q) in enumerate(((4, 2.0), (6, -1.0))):
        sig = _sigma_by_hand(CLOSE, 3, bar)
        per_unit = 0.5 * sig * CLOSE[bar]
        assert t["price"].iloc[row] == pytest.approx(CLOSE[bar] + np.sign(q) * per_unit, rel=1e-12)
        assert t["slippage"].iloc[row] == pytest.approx(abs(q) * per_unit, rel=1e-9)


def test_sqrt_impact_slippage(market_factory):
    r = _run(market_factory, slippage="sqrt_impact", impact_k=0.3)
    t = r.trades
    for row, (bar, q) in enumerate(((4, 2.0), (6, -1.0))):
        sig = _sigma_by_hand(CLOSE, 3, bar)
        per_unit = 0.3 * sig * CLOSE[bar] * np.sqrt(abs(q) / VOL[bar])
        assert t["slippage"].iloc[row] == pytest.approx(abs(q) * per_unit, rel=1e-9)
    # half the bar's volume costs less per unit than all of it: sqrt(2/4) at bar 4
    assert t["slippage"].iloc[0] / 2 == pytest.approx(
        0.3 * _sigma_by_hand(CLOSE, 3, 4) * 104.0 * np.sqrt(0.5), rel=1e-9
    )


def test_lognormal_latency_is_seeded_and_widens_with_volatility():
    n = 2_000
    rng = np.random.default_rng(0)
    rets = rng.standard_normal(n - 1) * 0.001
    rets[1_000:1_100] *= 20  # a volatility spike
    close = 100 * np.exp(np.concatenate(([0.0], np.cumsum(rets))))
    b = MarketBuilder(regular_index(0, n, 1))  # 1-second bars
    b.add_instrument(Instrument("PERP", "venue", "perp_linear"), close)
    m = b.build()
    sig = trailing_sigma(m.close, 60)
    ex = ExecutionSpec(latency="lognormal", latency_ms=1_500, latency_sigma=0.5, seed=3)
    d1 = latency_due_bars(m, ex, sig)
    np.testing.assert_array_equal(d1, latency_due_bars(m, ex, sig))  # same seed, same draws
    other = latency_due_bars(
        m, ExecutionSpec(latency="lognormal", latency_ms=1_500, latency_sigma=0.5, seed=4), sig
    )
    assert (d1 != other).any()
    # median delay ~ 1.5 s = 1.5 bars: ceil -> mostly 2 bars
    assert np.median(d1 - np.arange(n)) == 2
    wide = latency_due_bars(
        m,
        ExecutionSpec(
            latency="lognormal",
            latency_ms=1_500,
            latency_sigma=0.5,
            seed=3,
            latency_vol_widening=1.0,
        ),
        sig,
    )
    spike = slice(1_020, 1_100)
    calm = slice(200, 900)
    assert (wide[spike] - np.arange(n)[spike]).mean() > 3 * (d1[spike] - np.arange(n)[spike]).mean()
    assert (wide[calm] - np.arange(n)[calm]).mean() < 1.5 * (d1[calm] - np.arange(n)[calm]).mean()
    assert (wide >= np.arange(n)).all()


def test_spot_is_fully_paid_and_has_no_funding():
    b = MarketBuilder(regular_index(0, 4, 60))
    b.add_instrument(Instrument("BTCUSDT", "venue", "spot"), [100.0, 110.0, 90.0, 95.0])
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.001, capital=1_000.0, tiers="flat"),),
        strategy=None,
        orders=ScriptedOrders(bar=[0, 2], instrument=["BTCUSDT"] * 2, qty=[5.0, -2.0]),
    )
    r = simulate(b.build(), spec)
    # buy 5 @100: cash 1000 - 500 - 0.5 fee; equity = cash + 5 x price
    np.testing.assert_allclose(
        r.equity["equity"], [999.5, 1049.5, 949.5 - 0.18, 964.5 - 0.18], atol=1e-9
    )
    assert r.summary["rejected_orders"] == 0
    assert r.summary["max_abs_residual"] < 1e-9
