"""Delta-band crossings inside a bar, from open/high/low: fills at the crossing price, and a
gap fills once at the gapped open, never at a band level the market jumped over."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from gammaperp.engine import simulate
from gammaperp.engine.specs import ExecutionSpec, RunSpec, StraddleSpec
from gammaperp.errors import EngineError
from gammaperp.market.model import Instrument, MarketBuilder, regular_index
from gammaperp.pricing import greeks

S0 = 30_000.0
T_BAR = 5  # the bar that moves


def _market(o, h, lo, c, n=10, ohlc=True):
    close = np.full(n, S0)
    close[T_BAR:] = c
    opn, high, low = close.copy(), close.copy(), close.copy()
    opn[T_BAR], high[T_BAR], low[T_BAR] = o, h, lo
    b = MarketBuilder(regular_index(0, n, 60))
    kw = {"open": opn, "high": high, "low": low} if ohlc else {}
    b.add_instrument(Instrument("BTCUSDT", "binance", "perp_linear"), close, **kw)
    b.set_iv("BTC", 0.6)
    return b.build()


SPEC = StraddleSpec(expiry_days=30.0, band=0.05, intrabar=True)


def _hedges(res):
    """(hedge position after bar 0's opening hedge, the hedges of the moving bar)."""
    h = res.trades[res.trades["reason"] == "hedge"]
    return float(h.loc[h["bar"] < T_BAR, "qty"].sum()), h[h["bar"] == T_BAR]


def _net(s, hedge):
    tau = (30.0 * 1440 - T_BAR) / (365.0 * 1440)
    d = sum(float(greeks(k, s, S0, tau, 0.6).delta) for k in ("call", "put"))
    return d + hedge


def test_gap_fills_once_at_the_gapped_open():
    m = _market(33_000.0, 33_000.0, 33_000.0, 33_000.0)  # +10 % between two bars
    res = simulate(m, RunSpec(strategy=SPEC))
    h0, h = _hedges(res)
    assert len(h) == 1
    assert h["ref_price"].iloc[0] == 33_000.0  # not a fictitious fill at the band (~30,300)
    assert h["qty"].iloc[0] == pytest.approx(-_net(33_000.0, h0), rel=1e-12)


def test_crossings_inside_a_bar_fill_where_the_net_delta_reaches_the_band():
    m = _market(S0, 31_000.0, S0, 31_000.0)  # an up bar: low (= open) first, then the high
    res = simulate(m, RunSpec(strategy=SPEC))
    hedge, h = _hedges(res)
    assert len(h) >= 2  # gamma x 1,000 USD is about 3 bands: several crossings
    lo = S0
    for _, row in h.iterrows():
        x = brentq(lambda s, hd=hedge: _net(s, hd) - 0.05, lo, 31_000.0, xtol=1e-9)
        assert row["ref_price"] == pytest.approx(x, abs=1e-6)
        assert row["qty"] == pytest.approx(-_net(row["ref_price"], hedge), rel=1e-9)
        hedge += row["qty"]
        lo = x
    assert abs(_net(31_000.0, hedge)) <= 0.05
    # without intrabar detection the hedge happens once, at the close
    plain = simulate(m, RunSpec(strategy=StraddleSpec(expiry_days=30.0, band=0.05)))
    _, ph = _hedges(plain)
    assert len(ph) == 1 and ph["ref_price"].iloc[0] == 31_000.0


def test_a_down_bar_visits_its_high_first():
    # open 30,000, high 30,600, low 29,400, close 29,500: first the up-crossing, then down
    m = _market(S0, 30_600.0, 29_400.0, 29_500.0)
    res = simulate(m, RunSpec(strategy=SPEC))
    _, h = _hedges(res)
    assert h["qty"].iloc[0] < 0.0  # long gamma on the way up: sell
    assert h["ref_price"].iloc[0] > S0
    assert h["qty"].iloc[-1] > 0.0  # and buy back on the way down
    assert h["ref_price"].iloc[-1] < S0


def test_needs_high_low_data_and_no_latency():
    with pytest.raises(EngineError, match="high and low"):
        simulate(_market(S0, S0, S0, 31_000.0, ohlc=False), RunSpec(strategy=SPEC))
    with pytest.raises(EngineError, match="latency"):
        simulate(
            _market(S0, 31_000.0, S0, 31_000.0),
            RunSpec(strategy=SPEC, execution=ExecutionSpec(latency_ms=100.0)),
        )
