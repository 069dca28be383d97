"""hypothesis: the accounting identity holds on random paths with random trades."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gammaperp.engine import RunSpec, StraddleSpec, VenueSpec, simulate
from gammaperp.engine.specs import ExecutionSpec, ScriptedOrders
from gammaperp.market.model import Instrument, MarketBuilder, regular_index


@st.composite
def scenario(draw):
    n = draw(st.integers(8, 40))
    rets = draw(st.lists(st.floats(-0.05, 0.05), min_size=n - 1, max_size=n - 1))
    close = 30_000.0 * np.exp(np.concatenate(([0.0], np.cumsum(rets))))
    spread = draw(st.floats(0.0, 0.01))
    high = close * (1 + spread)
    low = close * (1 - spread)
    n_orders = draw(st.integers(0, 8))
    bars = sorted(draw(st.lists(st.integers(0, n - 1), min_size=n_orders, max_size=n_orders)))
    qtys = draw(
        st.lists(
            st.floats(-2.0, 2.0).filter(lambda x: abs(x) > 1e-3),
            min_size=n_orders,
            max_size=n_orders,
        )
    )
    fbars = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=4))))
    rates = draw(st.lists(st.floats(-0.003, 0.003), min_size=len(fbars), max_size=len(fbars)))
    inverse = draw(st.booleans())
    straddle = draw(st.booleans())
    side = draw(st.sampled_from([1, -1]))
    slip = draw(st.sampled_from(["none", "fixed_bps", "vol_scaled"]))
    latency = draw(st.sampled_from([0.0, 60_000.0, 150_000.0]))
    return (n, close, high, low, bars, qtys, fbars, rates, inverse, straddle, side, slip, latency)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(scenario())
def test_equity_change_equals_sum_of_components(sc):
    n, close, high, low, bars, qtys, fbars, rates, inverse, straddle, side, slip, lat = sc
    ts = regular_index(0, n, 60)
    b = MarketBuilder(ts)
    kind = "perp_inverse" if inverse else "perp_linear"
    cs = 100.0 if inverse else 1.0
    qscale = 300.0 if inverse else 1.0
    b.add_instrument(
        Instrument("PERP", "v", kind, contract_size=cs),
        close,
        high=high,
        low=low,
        funding_ts=ts[fbars] if fbars else None,
        funding_rate=rates if fbars else None,
    )
    b.set_iv("BTC", 0.7)
    m = b.build()
    strategy = None
    if straddle:
        strategy = StraddleSpec(
            instrument="PERP",
            hedge_instrument="PERP",
            band=0.05,
            side=side,
            expiry_days=0.01,
            settlement="inverse" if inverse else "linear",
        )
    capital = 10.0 if inverse else 300_000.0
    spec = RunSpec(
        venues=(
            VenueSpec(
                name="v",
                taker_fee=0.0005,
                maker_fee=-0.0001,
                capital=capital,
                tiers="flat",
                leverage=20.0,
                on_liquidation="continue",
            ),
        ),
        strategy=strategy,
        execution=ExecutionSpec(slippage=slip, slippage_bps=3.0, latency_ms=lat),
        orders=ScriptedOrders(
            bar=bars, instrument=["PERP"] * len(bars), qty=[q * qscale for q in qtys]
        ),
    )
    for record in ("full", "summary"):
        r = simulate(m, spec, record=record)
        s = r.summary
        notional = 30_000.0 * 10
        assert s["max_abs_residual"] <= 1e-9 * notional, s
        parts = (
            s["perp_pnl"] + s["option_pnl"] + s["funding"] - s["fees"] - s["slippage"] + s["fx_pnl"]
        )
        assert abs(s["total_pnl"] - parts) <= 1e-9 * notional
        if record == "full":
            eq = r.equity
            steps = (
                eq[["perp_pnl", "option_pnl", "funding", "fx"]].sum(axis=1)
                - eq["fees"]
                - eq["slippage"]
            )
            d = np.diff(np.concatenate(([s["equity_start"]], eq["equity"].to_numpy())))
            np.testing.assert_allclose(
                d - steps.to_numpy(), eq["residual"].to_numpy(), atol=1e-9 * notional
            )
            assert np.abs(eq["residual"]).max() <= 1e-9 * notional
