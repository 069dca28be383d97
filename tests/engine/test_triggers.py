"""Hedge triggers: time interval, price move, Whalley-Wilmott band, and combinations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.engine import RunSpec, StraddleSpec, simulate
from gammaperp.errors import EngineError
from gammaperp.pricing import greeks
from gammaperp.research.reference_job import reference_closes, reference_market, reference_spec

N = 6_000
CLOSES = reference_closes(N)
MARKET = reference_market(closes=CLOSES)
VENUES = reference_spec().venues


def _run(**kw):
    st = StraddleSpec(instrument="PERP", hedge_instrument="PERP", **kw)
    return simulate(MARKET, RunSpec(venues=VENUES, strategy=st))


def test_time_trigger_hedges_on_the_interval_only():
    r = _run(triggers=("time",), interval_minutes=60)
    bars = r.trades.loc[r.trades["reason"] == "hedge", "bar"].to_numpy()
    assert bars[0] == 0
    assert (bars % 60 == 0).all()  # 1-minute bars: every 60th bar
    # every interval hedges (the straddle's delta always moves a little)
    assert len(bars) == N // 60 + (1 if N % 60 else 0)
    # after each hedge the book is flat in delta
    assert np.abs(r.equity["net_delta"].to_numpy()[bars]).max() < 1e-9


def test_price_trigger_hedges_after_each_move():
    r = _run(triggers=("price",), move_pct=0.01)
    bars = r.trades.loc[r.trades["reason"] == "hedge", "bar"].to_numpy()
    ref = CLOSES[0]
    expected = []
    for t in range(N):  # the same rule by hand: a 1 % move from the last hedge's price
        if abs(CLOSES[t] - ref) >= 0.01 * ref:
            expected.append(t)
            ref = CLOSES[t]
    assert list(bars) == expected
    assert len(bars) > 10


def test_band_and_time_combine():
    band = _run(triggers=("band",), band=0.05)
    both = _run(triggers=("band", "time"), band=0.05, interval_minutes=240)
    hb = both.trades.loc[both.trades["reason"] == "hedge", "bar"].to_numpy()
    # the time trigger restarts at every hedge: no two hedges more than 240 bars apart
    assert np.diff(hb).max() <= 240
    assert (np.diff(hb) == 240).any()  # some hedges come from the clock
    # the band still fires in between: at least as many hedges as the band alone
    assert len(hb) >= len(band.trades)
    nd = both.equity["net_delta"].to_numpy()
    assert np.abs(nd).max() <= 0.05 + 1e-12  # never left outside the band at a bar's end


def test_whalley_wilmott_band_matches_formula():
    lam, gamma_ra = 0.0004, 0.002
    r = _run(triggers=("whalley_wilmott",), risk_aversion=gamma_ra)
    t = r.trades
    bars = t.loc[t["reason"] == "hedge", "bar"].to_numpy()
    assert len(bars) > 5
    strike = r.rolls["strike"].iloc[0]
    eq = r.equity
    for b in bars[1:6]:
        s = CLOSES[b]
        tau = (30 * 1440 - b) / 525_600
        g = greeks("call", s, strike, tau, 0.6).gamma * 2  # straddle gamma per coin
        h = (1.5 * lam * s * g * g / gamma_ra) ** (1 / 3)
        # the hedge fired because the pre-trade net delta left the band
        net_before = eq["option_delta"].iloc[b] + eq["hedge_position"].iloc[b - 1]
        assert abs(net_before) > h
        # and the bar before was inside the band computed the same way
        sp, taup = CLOSES[b - 1], (30 * 1440 - b + 1) / 525_600
        gp = greeks("call", sp, strike, taup, 0.6).gamma * 2
        hp = (1.5 * lam * sp * gp * gp / gamma_ra) ** (1 / 3)
        assert abs(eq["net_delta"].iloc[b - 1]) <= hp + 1e-12
    assert math.isfinite(r.summary["total_pnl"])


def test_edge_target_trades_back_to_the_band_edge():
    r = _run(triggers=("band",), band=0.1, target="edge")
    nd = r.equity["net_delta"].to_numpy()
    hb = r.trades.loc[r.trades["reason"] == "hedge", "bar"].to_numpy()[1:]
    np.testing.assert_allclose(np.abs(nd[hb]), 0.1, atol=1e-9)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"triggers": ("price",)}, "needs move_abs > 0 or move_pct > 0"),
        ({"triggers": ("time",)}, "needs interval_minutes > 0"),
        ({"triggers": ("whalley_wilmott",)}, "needs risk_aversion > 0"),
        ({"triggers": ("sometimes",)}, "unknown or empty"),
    ],
)
def test_trigger_parameters_are_required(kw, msg):
    with pytest.raises(EngineError, match=msg):
        StraddleSpec(**kw)


@pytest.mark.parametrize("side", [1, -1])
def test_leland_hedges_with_cost_adjusted_vol(side):
    r = _run(triggers=("time",), interval_minutes=60, leland=True, side=side)
    k = 2 * 0.0004  # round trip: twice the taker fee
    dt = 60 / 525_600
    c = math.sqrt(2 / math.pi) * k / math.sqrt(dt)
    vol_l = math.sqrt(0.6**2 - side * c * 0.6)  # long: lower vol, short: higher
    strike = r.rolls["strike"].iloc[0]
    eq = r.equity
    for b in (60, 600, 3000):
        tau = (30 * 1440 - b) / 525_600
        d = greeks("call", CLOSES[b], strike, tau, vol_l).delta
        d += greeks("put", CLOSES[b], strike, tau, vol_l).delta
        assert eq["hedge_position"].iloc[b] == pytest.approx(-side * d, abs=1e-9)
    # the option is still valued at the market's vol
    plain = _run(triggers=("time",), interval_minutes=60, side=side)
    assert r.summary["option_pnl"] == pytest.approx(plain.summary["option_pnl"], abs=1e-9)
    # the fast path (deltas in blocks, values on demand) hedges identically
    fast = simulate(
        MARKET,
        RunSpec(
            venues=VENUES,
            strategy=StraddleSpec(
                instrument="PERP",
                hedge_instrument="PERP",
                triggers=("time",),
                interval_minutes=60,
                leland=True,
                side=side,
            ),
        ),
        record="summary",
    )
    assert fast.summary["total_pnl"] == pytest.approx(r.summary["total_pnl"], abs=1e-7)
    assert fast.summary["n_trades"] == r.summary["n_trades"]


def test_leland_needs_an_interval():
    with pytest.raises(EngineError, match="leland needs a hedge interval"):
        StraddleSpec(leland=True)


def test_whalley_wilmott_fast_path_equals_the_full_path():
    """The summary-mode kernel takes gamma from its look-ahead block; the full-record kernel
    computes the band bar by bar: the same hedges, the same P&L, bit for bit."""
    from dataclasses import replace

    from gammaperp.engine import simulate
    from gammaperp.research.reference_job import reference_market, reference_spec

    m = reference_market(30_000)
    ref = reference_spec()
    for leland in (False, True):
        st = replace(ref.strategy, triggers=("whalley_wilmott",), risk_aversion=0.05,
                     leland=leland, leland_interval_minutes=60.0)  # fmt: skip
        spec = replace(ref, strategy=st)
        fast = simulate(m, spec, record="summary").summary
        full = simulate(m, spec, record="full").summary
        assert fast["n_trades"] == full["n_trades"] > 100
        assert fast["total_pnl"] == full["total_pnl"]
