"""The Python strategy protocol: a delta band written in plain Python gives the compiled
delta band's ledger, bit for bit; orders from Python go through the same queue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gammaperp.engine import simulate
from gammaperp.engine.specs import ExecutionSpec, RunSpec, StraddleSpec, VenueSpec
from gammaperp.errors import EngineError
from gammaperp.market.model import Instrument, MarketBuilder, regular_index
from gammaperp.strategies import Order
from gammaperp.strategies.examples import DeltaBand, TimeHedge


def _gbm(n=6_000, seed=11, vol=0.8):
    rng = np.random.default_rng(seed)
    dt = 1.0 / (365 * 1440)
    close = 30_000.0 * np.exp(np.cumsum(rng.normal(-0.5 * vol * vol * dt, vol * np.sqrt(dt), n)))
    b = MarketBuilder(regular_index(0, n, 60))
    fts = regular_index(0, n, 60)[479::480]
    b.add_instrument(
        Instrument("BTCUSDT", "binance", "perp_linear", lot_size=0.001),
        close,
        funding_ts=fts,
        funding_rate=np.full(fts.shape[0], 0.0001),
    )
    b.set_iv("BTC", 0.6)
    return b.build()


EXEC = ExecutionSpec(slippage="fixed_bps", slippage_bps=1.0, latency_ms=90_000.0)  # 2 bars
VENUES = (VenueSpec(taker_fee=0.0005),)


@pytest.mark.parametrize("band", [0.02, 0.1])
def test_python_delta_band_equals_the_compiled_one(band):
    m = _gbm()
    compiled = simulate(
        m, RunSpec(venues=VENUES, strategy=StraddleSpec(band=band, expiry_days=2.0), execution=EXEC)
    )
    options_only = StraddleSpec(band=band, expiry_days=2.0, hedge_instrument=None)
    python = simulate(
        m,
        RunSpec(venues=VENUES, strategy=options_only, execution=EXEC),
        strategy=DeltaBand("BTCUSDT", band),
    )
    assert len(compiled.trades) > 50
    pd.testing.assert_frame_equal(python.trades, compiled.trades, check_exact=True)
    pd.testing.assert_frame_equal(python.funding, compiled.funding, check_exact=True)
    pd.testing.assert_frame_equal(python.rolls, compiled.rolls, check_exact=True)
    # the equity record is the same except the columns naming the built-in hedge
    cols = [c for c in compiled.equity.columns if c not in ("hedge_position", "net_delta")]
    pd.testing.assert_frame_equal(python.equity[cols], compiled.equity[cols], check_exact=True)
    assert python.summary["total_pnl"] == compiled.summary["total_pnl"]


def test_python_orders_pay_latency_fees_and_slippage_like_any_order():
    m = _gbm(n=600)
    res = simulate(
        m,
        RunSpec(venues=VENUES, strategy=StraddleSpec(hedge_instrument=None), execution=EXEC),
        strategy=TimeHedge("BTCUSDT", every=100),
    )
    tr = res.trades[res.trades["reason"] == "hedge"]
    assert tr["decided_bar"].tolist() == [0, 100, 200, 300, 400, 500]
    assert (tr["bar"] - tr["decided_bar"] == 2).all()  # 90 s of latency on 1-minute bars
    assert np.allclose(tr["fee"], 0.0005 * tr["qty"].abs() * tr["price"], rtol=1e-12)
    assert np.allclose(tr["slippage"], 1e-4 * tr["ref_price"] * tr["qty"].abs(), rtol=1e-9)


def test_a_plain_function_is_a_strategy_and_can_trade_alone():
    m = _gbm(n=300)
    seen = []

    def decide(state):
        seen.append(state.t)
        if state.t == 10:
            return [Order("BTCUSDT", 0.5, reason="entry")]
        if state.t == 200:
            return [Order("BTCUSDT", -0.5, type="limit", limit=state.close("BTCUSDT") * 1.001)]
        return []

    res = simulate(m, RunSpec(venues=VENUES, strategy=None), strategy=decide)
    assert seen == list(range(300))
    tr = res.trades
    assert tr["reason"].tolist()[0] == "entry" and tr["bar"].iloc[0] == 10
    if len(tr) > 1:  # the limit fills only if the price trades through it
        assert tr["order_type"].iloc[1] == "limit"


def test_bad_orders_are_clear_errors():
    m = _gbm(n=50)
    spec = RunSpec(venues=VENUES, strategy=None)
    with pytest.raises(EngineError, match="reason"):
        simulate(m, spec, strategy=lambda s: [Order("BTCUSDT", 1.0, reason="why-not")])
    with pytest.raises(Exception, match="no instrument 'ETHUSDT'"):
        simulate(m, spec, strategy=lambda s: [Order("ETHUSDT", 1.0)])
    with pytest.raises(EngineError, match="Order objects"):
        simulate(m, spec, strategy=lambda s: [("BTCUSDT", 1.0)])
