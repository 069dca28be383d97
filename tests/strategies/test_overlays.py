"""Every risk overlay fires on a constructed path (at the right bar, with its reason code in
the blotter and its event in ``Result.events``) and stays silent on a calm one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.engine import simulate
from gammaperp.engine.account import Account
from gammaperp.engine.specs import (
    RiskSpec,
    RunSpec,
    ScalpSpec,
    ScriptedOrders,
    StraddleSpec,
    VenueSpec,
)
from gammaperp.market.model import Instrument
from market_helpers import dip_path, multi_market

VENUE = (VenueSpec("v", capital=10_000.0),)
SCALP = ScalpSpec(instrument="P", quantity=1.0, max_inventory=3.0, centre_bars=10,
                  band_pct=0.02, order_type="market")  # fmt: skip


def crash_path():
    """Three dips bought at 95 (as in dip_path), then a slide from 100 to 80 and flat."""
    head = dip_path(n_cycles=3)[:40]
    slide = np.linspace(100.0, 80.0, 41)[1:]
    return np.concatenate((head, slide, np.full(40, 80.0)))


def sine(n=1_000, period=100, amp=10.0):
    t = np.arange(n)
    return 100.0 + amp * np.sin(2.0 * math.pi * t / period)


def _scalp_run(close, risk, strategy=SCALP, venues=VENUE):
    m = multi_market([{"name": "P", "venue": "v", "close": close}], close.shape[0])
    return simulate(m, RunSpec(venues=venues, strategy=strategy, risk=risk))


def test_catastrophic_stop_flattens_and_stops():
    close = crash_path()
    res = _scalp_run(close, RiskSpec(stop_loss_pct=0.003))
    ev = res.events
    assert ev["event"].tolist() == ["stop"]
    # long 3 bought at 95 (fees 4 bps): equity < 10,000 x 0.997 first when 3 x (p - 95) - fees
    # < -30
    fees = 3 * 0.0004 * 95.0
    bar = int(np.argmax(3 * (close - 95.0) - fees < -30.0))
    assert int(ev["bar"].iloc[0]) == bar
    assert ev["value"].iloc[0] == pytest.approx(10_000.0 + 3 * (close[bar] - 95.0) - fees)
    stops = res.trades[res.trades["reason"] == "stop"]
    assert stops["bar"].tolist() == [bar] and stops["qty"].tolist() == [-3.0]
    assert res.trades["bar"].max() == bar  # nothing after the stop


def test_catastrophic_stop_restarts_after_its_cool_down():
    close = np.concatenate((crash_path(), dip_path(n_cycles=3) - 20.0))
    res = _scalp_run(close, RiskSpec(stop_loss_pct=0.003, stop_cooldown_minutes=30.0))
    ev = res.events
    assert ev["event"].tolist()[:2] == ["stop", "restart"]
    assert ev["bar"].iloc[1] == ev["bar"].iloc[0] + 30
    after = res.trades[res.trades["bar"] > ev["bar"].iloc[1]]
    assert (after["reason"] == "scalp").all() and len(after) > 0


def test_per_leg_stop_closes_the_leg_and_blocks_it_for_the_cool_down():
    close = crash_path()
    res = _scalp_run(close, RiskSpec(leg_stop_pct=0.1, leg_cooldown_minutes=1_000.0))
    ev = res.events
    assert ev["event"].tolist() == ["leg_stop"]
    bar = int(np.argmax(3 * (close - 95.0) < -0.1 * 3 * 95.0))
    assert int(ev["bar"].iloc[0]) == bar
    stop = res.trades[res.trades["reason"] == "leg_stop"]
    assert stop["bar"].tolist() == [bar] and stop["qty"].tolist() == [-3.0]
    assert res.trades["bar"].max() == bar


@pytest.mark.parametrize(
    "risk",
    [
        RiskSpec(stop_loss_pct=0.01),
        RiskSpec(leg_stop_pct=0.2),
        RiskSpec(vol_short_bars=10, vol_long_bars=200, vol_k=3.0),
        RiskSpec(loss_streak=3),
        RiskSpec(inventory_reset=2.0),
        RiskSpec(max_position=5.0, max_notional=1_000.0),
        RiskSpec(margin_buffer_pct=0.05),
    ],
)
def test_overlays_stay_silent_on_a_calm_sine(risk):
    """The band scalper's round trips on a pure sine: no overlay has anything to do, and the
    ledger equals the run without overlays."""
    close = sine()
    plain = _scalp_run(close, RiskSpec(), strategy=_sine_scalp())
    res = _scalp_run(close, risk, strategy=_sine_scalp())
    assert res.events.empty
    assert res.trades.equals(plain.trades)
    assert res.summary["total_pnl"] == plain.summary["total_pnl"]


def _sine_scalp():
    return ScalpSpec(instrument="P", quantity=1.0, max_inventory=1.0, centre_bars=100,
                     band_pct=0.05, order_type="limit")  # fmt: skip


def test_vol_breaker_pauses_scalping_until_calm():
    rng = np.random.default_rng(5)
    close = sine(2_000)
    close[1_000:1_100] *= np.exp(rng.normal(0.0, 0.03, 100))  # a burst of 3 % moves
    risk = RiskSpec(vol_short_bars=10, vol_long_bars=300, vol_k=3.0)
    res = _scalp_run(close, risk, strategy=_sine_scalp())
    ev = res.events
    assert ev["event"].tolist()[:2] == ["vol_pause", "vol_calm"]
    on, off = int(ev["bar"].iloc[0]), int(ev["bar"].iloc[1])
    assert 1_000 <= on < 1_011 and off > on
    assert ev["value"].iloc[0] > ev["ref"].iloc[0]  # short vol > k x long vol
    tr = res.trades
    decided = tr["decided_bar"] if "decided_bar" in tr else tr["bar"] - 1
    assert not ((decided >= on) & (decided < off)).any()  # no new clips while paused


def test_vol_breaker_reduce_scales_the_clip():
    rng = np.random.default_rng(5)
    close = sine(2_000)
    close[1_000:1_100] *= np.exp(rng.normal(0.0, 0.03, 100))
    risk = RiskSpec(vol_short_bars=10, vol_long_bars=300, vol_k=3.0, vol_action="reduce",
                    vol_reduce_factor=0.5)  # fmt: skip
    res = _scalp_run(close, risk, strategy=_sine_scalp())
    ev = res.events
    on, off = int(ev["bar"].iloc[0]), int(ev["bar"].iloc[1])
    tr = res.trades
    inside = tr[(tr["bar"] > on) & (tr["bar"] <= off)]
    assert len(inside) > 0 and (inside["qty"].abs() == 0.5).all()


def test_loss_streak_pauses_after_n_losing_closes():
    n = 400
    close = np.full(n, 100.0)
    close[100:] = 99.0
    close[200:] = 98.0
    close[300:] = 97.0
    # buy 1 then sell it one level lower, three times: three losing closing fills
    bars = [50, 150, 160, 250, 260, 350]
    qty = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    m = multi_market([{"name": "P", "venue": "v", "close": close}], n)
    spec = RunSpec(venues=VENUE, strategy=None, orders=ScriptedOrders(bars, ["P"] * 6, qty),
                   risk=RiskSpec(loss_streak=3, loss_pause_minutes=20.0))  # fmt: skip
    res = simulate(m, spec)
    ev = res.events
    assert ev["event"].tolist() == ["loss_streak_pause", "loss_streak_resume"]
    assert ev["bar"].tolist() == [350, 370]
    # a winning close in between resets the streak: silent
    close2 = close.copy()
    close2[250:300] = 101.0
    m2 = multi_market([{"name": "P", "venue": "v", "close": close2}], n)
    assert simulate(m2, spec).events.empty


def test_inventory_reset_flattens_the_scalper():
    close = dip_path()
    res = _scalp_run(close, RiskSpec(inventory_reset=2.0))
    tr = res.trades
    resets = tr[tr["reason"] == "inventory_reset"]
    # the second clip fills at bar 19's close; the overlay sees it at the next decision
    assert resets["bar"].tolist()[0] == 20 and resets["qty"].tolist()[0] == -2.0
    assert res.events["event"].tolist()[0] == "inventory_reset"
    inv = np.cumsum(tr["qty"].to_numpy())
    assert inv.max() == 2.0


def _trend_market(n=3_000, drift=0.0004, iv=0.8):
    close = 30_000.0 * np.exp(drift * np.arange(n))
    return multi_market([{"name": "BTCUSDT", "venue": "binance", "close": close}], n, iv=iv)


def test_inventory_reset_re_strikes_the_straddle():
    m = _trend_market()
    st = StraddleSpec(instrument="BTCUSDT", expiry_days=30.0, band=0.05)
    res = simulate(m, RunSpec(strategy=st, risk=RiskSpec(inventory_reset=0.5)))
    rolls = res.rolls
    assert (rolls["event"] == "close").sum() >= 1
    ev = res.events
    assert ev["event"].iloc[0] == "inventory_reset"
    assert abs(ev["value"].iloc[0]) >= 0.5
    # the hedge never grows far beyond the threshold
    assert res.equity["hedge_position"].abs().max() < 0.5 + 0.1


def test_position_cap_clips_hedges():
    m = _trend_market()
    st = StraddleSpec(instrument="BTCUSDT", expiry_days=30.0, band=0.05)
    res = simulate(m, RunSpec(strategy=st, risk=RiskSpec(max_position=0.3)))
    assert res.equity["hedge_position"].abs().max() <= 0.3 + 1e-12
    assert "cap" in set(res.events["event"])
    plain = simulate(m, RunSpec(strategy=st))
    assert plain.equity["hedge_position"].abs().max() > 0.3


def test_hedge_bias_over_hedges_by_the_fraction():
    m = _trend_market()
    st = StraddleSpec(instrument="BTCUSDT", expiry_days=30.0, band=0.05)
    plain = simulate(m, RunSpec(strategy=st)).trades
    biased = simulate(m, RunSpec(strategy=st, risk=RiskSpec(hedge_bias=0.1))).trades
    h0 = plain[plain["reason"] == "hedge"].iloc[0]
    h1 = biased[biased["reason"] == "hedge"].iloc[0]
    assert h0["bar"] == h1["bar"]
    assert h1["qty"] == pytest.approx(1.1 * h0["qty"], rel=1e-12)


def test_trend_filter_pauses_hedging_in_a_trend_and_not_in_chop():
    m = _trend_market()
    st = StraddleSpec(instrument="BTCUSDT", expiry_days=30.0, band=0.05)
    risk = RiskSpec(trend_fast_bars=20, trend_slow_bars=200, trend_threshold=0.01)
    res = simulate(m, RunSpec(strategy=st, risk=risk))
    ev = res.events
    assert ev["event"].iloc[0] == "trend_on"
    on = int(ev["bar"].iloc[0])
    hedges = res.trades[res.trades["reason"] == "hedge"]
    assert (hedges["bar"] <= on).all()
    # chop: a sine around 30,000 never moves the fast average 1 % from the slow one
    n = 3_000
    close = 30_000.0 * (1.0 + 0.003 * np.sin(2.0 * math.pi * np.arange(n) / 300))
    calm = multi_market([{"name": "BTCUSDT", "venue": "binance", "close": close}], n, iv=0.8)
    assert simulate(calm, RunSpec(strategy=st, risk=risk)).events.empty


def test_trend_bias_hedges_less_with_the_trend():
    m = _trend_market()
    st = StraddleSpec(instrument="BTCUSDT", expiry_days=30.0, band=0.05)
    risk = RiskSpec(trend_fast_bars=20, trend_slow_bars=200, trend_threshold=0.01,
                    trend_action="bias", trend_bias=0.5)  # fmt: skip
    res = simulate(m, RunSpec(strategy=st, risk=risk))
    on = int(res.events["bar"].iloc[0])
    h = res.trades[(res.trades["reason"] == "hedge") & (res.trades["bar"] > on)]
    # long gamma in an up-trend is long delta: each hedge sells half of the net delta
    net_before = res.equity["net_delta"].to_numpy()
    for _, row in h.head(5).iterrows():
        b = int(row["bar"])
        assert row["qty"] == pytest.approx(-0.5 * (net_before[b - 1] + _opt_move(res, b)), rel=0.05)


def _opt_move(res, b):
    od = res.equity["option_delta"].to_numpy()
    return od[b] - od[b - 1]


def _leveraged_long(n=200, capital=1_000.0, two_venues=False):
    close = np.linspace(40_000.0, 35_000.0, n)
    legs = [{"name": "BTCUSDT", "venue": "v", "close": close}]
    if two_venues:
        legs.append({"name": "BTCUSDT", "venue": "w", "close": close})
    m = multi_market(legs, n)
    venues = (VenueSpec("v", capital=capital, leverage=20.0),)
    if two_venues:
        venues = (*venues, VenueSpec("w", capital=5_000.0))
    orders = ScriptedOrders([0], [0], [0.25])  # 10,000 USD of BTC on 1,000 USD: 10x
    return m, venues, orders, close


def test_margin_buffer_reduces_the_leg_before_liquidation():
    m, venues, orders, close = _leveraged_long()
    res = simulate(m, RunSpec(venues=venues, strategy=None, orders=orders,
                              risk=RiskSpec(margin_buffer_pct=0.05)))  # fmt: skip
    ev = res.events
    assert ev["event"].iloc[0] == "margin_reduce"
    bar = int(ev["bar"].iloc[0])
    # independent check with the Account primitives: distance < 5 % there, >= 5 % one bar before
    fee = 0.25 * 40_000.0 * 0.0004
    for b, below in ((bar, True), (bar - 1, False)):
        acct = Account([Instrument("BTCUSDT", "v", "perp_linear")], capital={"v": 1_000.0 - fee})
        acct.fill("BTCUSDT", 0.25, 40_000.0, fee_rate=0.0)
        lp = acct.liquidation_price("BTCUSDT", {"BTCUSDT": close[b]})
        assert bool((close[b] - lp) / close[b] < 0.05) is below
    red = res.trades[res.trades["reason"] == "margin_buffer"]
    assert red["bar"].iloc[0] == bar and red["qty"].iloc[0] == pytest.approx(-0.125)
    assert res.summary["liquidations"] == 0
    plain = simulate(m, RunSpec(venues=venues, strategy=None, orders=orders))
    assert plain.summary["liquidations"] == 1


def test_margin_buffer_transfer_moves_collateral_from_the_other_venue():
    m, venues, orders, _ = _leveraged_long(two_venues=True)
    risk = RiskSpec(margin_buffer_pct=0.05, margin_action="transfer")
    res = simulate(m, RunSpec(venues=venues, strategy=None, orders=orders, risk=risk))
    ev = res.events
    assert ev["event"].iloc[0] == "margin_transfer"
    assert ev["value"].iloc[0] > 0.0
    assert res.summary["liquidations"] == 0
    assert (res.trades["reason"] != "margin_buffer").all()
    assert res.summary["max_abs_residual"] < 1e-9  # moving cash between venues is not P&L
