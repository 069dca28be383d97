"""Long-gamma template entries: strikes chosen by delta (with and without a smile) and size
by premium budget, checked against the pricing API."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.engine import simulate
from gammaperp.engine._nb import norm_ppf_nb, strike_for_delta_nb
from gammaperp.engine.specs import RunSpec, StraddleSpec
from gammaperp.market.model import Instrument, MarketBuilder, regular_index
from gammaperp.pricing import greeks

S0 = 30_000.0
TAU = 30.0 / 365.0


def _market(skew=0.0, curvature=0.0, n=100):
    b = MarketBuilder(regular_index(0, n, 60))
    b.add_instrument(Instrument("BTCUSDT", "binance", "perp_linear"), np.full(n, S0))
    b.set_iv("BTC", 0.6, skew=skew, curvature=curvature)
    return b.build()


def _smile(k, skew, curvature):
    m = math.log(k / S0)
    return 0.6 + skew * m + curvature * m * m


@pytest.mark.parametrize("skew,curvature", [(0.0, 0.0), (-0.15, 0.4)])
def test_delta_strikes_have_the_asked_delta_at_their_smile_vol(skew, curvature):
    spec = StraddleSpec(call_delta=0.25, put_delta=0.25, hedge_instrument=None)
    res = simulate(_market(skew, curvature), RunSpec(strategy=spec))
    rolls = res.rolls
    kc = float(rolls.loc[rolls["call_qty"] > 0, "strike"].iloc[0])
    kp = float(rolls.loc[rolls["put_qty"] > 0, "strike"].iloc[0])
    assert kp < S0 < kc
    gc = greeks("call", S0, kc, TAU, _smile(kc, skew, curvature))
    gp = greeks("put", S0, kp, TAU, _smile(kp, skew, curvature))
    assert float(gc.delta) == pytest.approx(0.25, abs=1e-10)
    assert float(gp.delta) == pytest.approx(-0.25, abs=1e-10)


def test_premium_budget_sizes_the_position():
    spec = StraddleSpec(call_delta=0.25, put_delta=0.25, premium_budget=1_000.0,
                        hedge_instrument=None)  # fmt: skip
    res = simulate(_market(), RunSpec(strategy=spec))
    rolls = res.rolls
    assert rolls["cash_flow"].sum() == pytest.approx(-1_000.0, rel=1e-12)
    kc = float(rolls["strike"].iloc[0])
    kp = float(rolls["strike"].iloc[1])
    unit = float(greeks("call", S0, kc, TAU, 0.6).price + greeks("put", S0, kp, TAU, 0.6).price)
    assert float(rolls["call_qty"].iloc[0]) == pytest.approx(1_000.0 / unit, rel=1e-12)


def test_atm_straddle_by_budget():
    spec = StraddleSpec(premium_budget=2_500.0, hedge_instrument=None)
    res = simulate(_market(), RunSpec(strategy=spec))
    unit = 2.0 * float(greeks("call", S0, S0, TAU, 0.6).price)  # ATM call = ATM put (r = q = 0)
    assert res.rolls["call_qty"].iloc[0] == pytest.approx(2_500.0 / unit, rel=1e-12)
    assert res.rolls["put_qty"].iloc[0] == res.rolls["call_qty"].iloc[0]


@pytest.mark.parametrize("u", [1e-12, 1e-4, 0.02, 0.25, 0.5, 0.75, 0.98, 1 - 1e-9])
def test_norm_ppf_inverts_the_cdf(u):
    from scipy.special import ndtri

    assert norm_ppf_nb(u) == pytest.approx(float(ndtri(u)), rel=1e-13, abs=1e-14)


def test_black76_delta_strike():
    k = strike_for_delta_nb(1, S0, TAU, 0.6, 0.0, 0.0, 0.05, 0.0, 0.3, True)
    g = greeks("call", S0, k, TAU, 0.6, r=0.05, model="black76")
    assert float(g.delta) == pytest.approx(0.3, abs=1e-10)
