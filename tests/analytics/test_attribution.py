"""Greek attribution: hand-computed steps, exact sums, small residuals on fine paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.analytics import attribute_pnl, option_slots, slot_steps, smile_vol
from gammaperp.data.synthetic import gbm_path
from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.specs import StraddleSpec

from .conftest import make_market

COMPONENTS = ["delta_pnl", "gamma_pnl", "theta_pnl", "vega_pnl", "option_residual"]
FLOWS = ["option_pnl", "hedge_pnl", "funding_pnl", "fee_pnl", "slippage_pnl", "fx_pnl"]


def _n(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _straddle(s: float, k: float, tau: float, vol: float) -> dict[str, float]:
    """Independent closed form of an r = q = 0 Black-Scholes straddle (call + put)."""
    sq = vol * math.sqrt(tau)
    d1 = (math.log(s / k) + 0.5 * vol * vol * tau) / sq
    pdf = math.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    return {
        "value": s * (2 * _n(d1) - 1) - k * (2 * _n(d1 - sq) - 1),
        "delta": 2 * _n(d1) - 1,
        "gamma": 2 * pdf / (s * sq),
        "theta": -s * pdf * vol / math.sqrt(tau),
        "vega": 2 * s * pdf * math.sqrt(tau),
    }


def _spec(**kw) -> RunSpec:
    st = {"instrument": "PERP", "venue": "venue", "hedge_instrument": None, **kw}
    return RunSpec(
        venues=(VenueSpec(name="venue", capital=1_000_000.0, tiers="flat"),),
        strategy=StraddleSpec(**st),
    )


def test_two_daily_steps_by_hand():
    # S 100 -> 101 -> 99 on daily bars, IV 50 %, 30-day ATM straddle (K = 100), no hedge
    r = simulate(make_market([100.0, 101.0, 99.0], bar_seconds=86_400, iv=0.5), _spec())
    f = attribute_pnl(r).frame
    # step 1 at S = 100, tau = 30/365: d1 = 0.5 sqrt(tau) / 2 = 0.0716728
    # delta = 2 N(d1) - 1 = 0.0571377; gamma = 2 phi(d1) / (S sigma sqrt tau) = 0.0555188
    # theta = -S phi(d1) sigma / sqrt(tau) = -69.39855 a year
    g1 = _straddle(100.0, 100.0, 30 / 365, 0.5)
    assert g1["delta"] == pytest.approx(0.05713767509099932, rel=1e-12)
    assert f["delta_pnl"].iloc[1] == pytest.approx(0.05713767509099932 * 1.0, rel=1e-9)
    assert f["gamma_pnl"].iloc[1] == pytest.approx(0.5 * 0.055518839506450014 * 1.0, rel=1e-9)
    assert f["theta_pnl"].iloc[1] == pytest.approx(-69.39854938306252 / 365, rel=1e-9)
    # step 2 at S = 101, tau = 29/365: d1 = (ln 1.01 + 0.125 tau) / (0.5 sqrt tau) = 0.1410698
    # delta 0.1121852 x dS -2; gamma 0.0554977 x dS^2 4 / 2; theta -70.76646 / 365
    assert f["delta_pnl"].iloc[2] == pytest.approx(-0.22437034773448383, rel=1e-9)
    assert f["gamma_pnl"].iloc[2] == pytest.approx(0.11099533713544624, rel=1e-9)
    assert f["theta_pnl"].iloc[2] == pytest.approx(-0.19388072502032316, rel=1e-9)
    assert (f["vega_pnl"] == 0).all()
    # bar 0 opens the straddle at model value: nothing to attribute
    assert f[COMPONENTS].iloc[0].abs().max() == 0.0
    # the components add up to the engine's option P&L exactly (residual by definition)
    np.testing.assert_allclose(f[COMPONENTS].sum(axis=1), f["option_pnl"], rtol=0, atol=1e-12)
    # option P&L over step 1 = V(101, 29d) - V(100, 30d)
    v0 = g1["value"]
    v1 = _straddle(101.0, 100.0, 29 / 365, 0.5)["value"]
    assert f["option_pnl"].iloc[1] == pytest.approx(v1 - v0, abs=1e-9)


def test_vega_from_an_iv_change_by_hand():
    # constant S = 100; IV 50 % -> 60 % at bar 1: vega(50 %) x 0.1 = 22.815961 x 0.1
    r = simulate(
        make_market([100.0, 100.0, 100.0], bar_seconds=86_400, iv=[0.5, 0.6, 0.6]), _spec()
    )
    f = attribute_pnl(r).frame
    assert f["vega_pnl"].iloc[1] == pytest.approx(2.281596144100685, rel=1e-9)
    assert f["vega_pnl"].iloc[2] == 0.0
    assert (f["delta_pnl"] == 0).all() and (f["gamma_pnl"] == 0).all()
    # theta on step 2 uses the new vol 60 %
    g = _straddle(100.0, 100.0, 29 / 365, 0.6)
    assert f["theta_pnl"].iloc[2] == pytest.approx(g["theta"] / 365, rel=1e-9)


def test_constant_price_theta_is_the_option_pnl():
    # one day of 1-minute bars at S = 100 and IV 50 %: the straddle only decays
    # V(tau) = 2 S (2 N(sigma sqrt(tau) / 2) - 1): V(29d) - V(30d) = 11.2358 - 11.4275 = -0.191753
    r = simulate(make_market(np.full(1441, 100.0), iv=0.5), _spec())
    a = attribute_pnl(r)
    t = a.totals
    assert t["option_pnl"] == pytest.approx(-0.19175265611912629, rel=1e-9)
    assert t["theta_pnl"] == pytest.approx(t["option_pnl"], rel=1e-4)
    assert t["delta_pnl"] == t["gamma_pnl"] == t["vega_pnl"] == 0.0
    assert abs(t["option_residual"]) < 1e-4 * abs(t["option_pnl"])


def test_reference_run_components_sum_and_residual_is_small(synthetic_full):
    a = attribute_pnl(synthetic_full)
    f, t = a.frame, a.totals
    eq = synthetic_full.equity
    np.testing.assert_allclose(f[COMPONENTS].sum(axis=1), f["option_pnl"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(f["option_pnl"], eq["option_pnl"], rtol=0, atol=0)
    np.testing.assert_allclose(f["price"], eq["price"], rtol=0, atol=0)
    # every step's total is the equity change (engine residual < 1e-9 of notional)
    d_eq = np.diff(np.concatenate(([100_000.0], eq["equity"].to_numpy())))
    np.testing.assert_allclose(f["total_pnl"], d_eq, rtol=0, atol=1e-8)
    assert sum(t[c] for c in FLOWS) == pytest.approx(synthetic_full.summary["total_pnl"], abs=1e-7)
    # pinned totals of the 20,000-bar reference run (USD)
    assert t["option_pnl"] == pytest.approx(-406.9570380014766, rel=1e-9)
    assert t["gamma_pnl"] == pytest.approx(641.9509188253664, rel=1e-6)
    assert t["theta_pnl"] == pytest.approx(-1248.398358471289, rel=1e-6)
    assert t["vega_pnl"] == pytest.approx(473.3434322559006, rel=1e-6)
    assert t["delta_pnl"] == pytest.approx(-280.84014121138864, rel=1e-6)
    # The bound is on the gross gamma + theta (1,890 USD): that is the P&L being explained,
    # while the net option P&L (-407) is a difference of large terms that can be ~0.
    assert t["gross_gamma_theta"] == pytest.approx(641.9509 + 1248.3984, rel=1e-6)
    assert abs(t["option_residual"]) < 0.02 * t["gross_gamma_theta"]
    assert t["residual_share"] == pytest.approx(0.0036962, rel=1e-3)  # 0.37 %


def test_expiries_and_short_book(short_3day):
    slots = option_slots(short_3day)
    assert slots["open_bar"].tolist() == [0, 4320, 8640, 12960, 17280]
    assert slots["end_bar"].tolist() == [4320, 8640, 12960, 17280, 19940]
    assert slots["end_event"].tolist() == ["expire"] * 4 + ["open"]
    assert (slots["call_qty"] == -1).all() and (slots["put_qty"] == -1).all()
    a = attribute_pnl(short_3day)
    t = a.totals
    assert t["option_pnl"] == pytest.approx(4396.54177630581, rel=1e-9)
    assert t["theta_pnl"] > 0 > t["gamma_pnl"]  # short gamma earns theta
    assert abs(t["option_residual"]) < 0.02 * t["gross_gamma_theta"]
    np.testing.assert_allclose(
        a.frame[COMPONENTS].sum(axis=1), a.frame["option_pnl"], rtol=0, atol=1e-9
    )


def test_smile_strangle_uses_the_strike_vol():
    # 5,000 one-minute GBM bars, IV 60 % ATM with skew -0.2 and curvature 0.5, a 110/90
    # strangle: each leg is priced at its own smile vol
    path = gbm_path(30_000.0, 0.6, 5000, 60 / (365 * 86_400), seed=3)
    m = make_market(path, iv=0.6, skew=-0.2, curvature=0.5)
    r = simulate(m, _spec(call_moneyness=1.1, put_moneyness=0.9))
    ss = slot_steps(r)
    k_call = path[0] * 1.1
    first = (ss.slot == 0) & (ss.bar == 1)
    # vol at K = 1.1 S: 0.6 - 0.2 x 0.0953102 + 0.5 x 0.0090840 = 0.5854800
    lk = math.log(k_call / path[0])
    assert ss.sigma0[first][0] == pytest.approx(0.6 - 0.2 * lk + 0.5 * lk * lk, rel=1e-12)
    assert ss.sigma0[first][0] == pytest.approx(0.5854799792, rel=1e-9)
    a = attribute_pnl(r)
    t = a.totals
    # S moves along the smile, so each leg's vol moves: vega P&L is not zero
    assert t["vega_pnl"] != 0.0
    assert abs(t["option_residual"]) < 0.02 * t["gross_gamma_theta"]
    np.testing.assert_allclose(
        a.frame[COMPONENTS].sum(axis=1), a.frame["option_pnl"], rtol=0, atol=1e-9
    )


def test_smile_vol_by_hand():
    # m = ln(110/100) = 0.0953102: 0.5 - 0.1 m + 0.2 m^2 = 0.4922858
    assert float(smile_vol(0.5, 110.0, 100.0, -0.1, 0.2)) == pytest.approx(0.4922857880944341)
    assert float(smile_vol(0.01, 50.0, 100.0, 1.0, 0.0)) == 1e-4  # floored
    assert float(smile_vol(0.5, 50.0, 100.0)) == 0.5  # no smile: the ATM vol


def test_coin_settled_options_on_a_coin_margined_venue(coin_margined):
    r = coin_margined
    a = attribute_pnl(r)
    t = a.totals
    assert t["settlement"] == "inverse"
    assert t["option_pnl"] == pytest.approx(r.summary["option_pnl"], rel=1e-9)
    assert t["option_pnl"] == pytest.approx(-38.369688517145306, rel=1e-9)
    # the coin greeks' gamma term differs from the USD run's (641.95): coin gamma x index
    assert t["gamma_pnl"] == pytest.approx(750.8122748240569, rel=1e-6)
    assert t["fx_pnl"] == pytest.approx(r.summary["fx_pnl"], rel=1e-9)
    assert abs(t["option_residual"]) < 0.02 * t["gross_gamma_theta"]
    assert sum(t[c] for c in FLOWS) == pytest.approx(r.summary["total_pnl"], abs=1e-6)


def test_black76_with_a_rate():
    path = gbm_path(30_000.0, 0.6, 3000, 60 / (365 * 86_400), seed=5)
    r = simulate(make_market(path, iv=0.6), _spec(model="black76", rate=0.05))
    t = attribute_pnl(r).totals
    assert abs(t["option_residual"]) < 0.02 * t["gross_gamma_theta"]


def test_summary_record_is_refused(synthetic_summary):
    with pytest.raises(ValueError, match="record='full'"):
        attribute_pnl(synthetic_summary)


def test_no_strategy_attributes_nothing():
    m = make_market([100.0, 101.0, 102.0])
    r = simulate(m, RunSpec(venues=(VenueSpec(name="venue"),), strategy=None))
    a = attribute_pnl(r)
    assert a.totals["option_pnl"] == 0.0 and a.totals["residual_share"] is None
    assert len(a.frame) == 3


def test_liquidated_slot_ends_at_the_liquidation():
    # an unhedged short 3-day straddle on 11,500 USD (enough initial margin to open) through a
    # steady 35 % fall: the short put's loss breaches maintenance at bar 1389
    from gammaperp.research.reference_job import reference_market

    n = 3000
    close = 30_000 * np.exp(np.concatenate(([0.0], np.cumsum(np.full(n - 1, -0.35 / (n - 1))))))
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.0004, capital=11_500.0, tiers="flat"),),
        strategy=StraddleSpec(instrument="PERP", hedge_instrument=None, side=-1, expiry_days=3),
    )
    r = simulate(reference_market(closes=close), spec)
    assert r.summary["failed"] and r.summary["bars_run"] == 1390
    slots = option_slots(r)
    assert slots[["open_bar", "end_bar"]].values.tolist() == [[0, 1389]]
    assert slots["end_event"].tolist() == ["liquidated"]
    a = attribute_pnl(r)
    f = a.frame
    # nothing is held after the stop
    assert (f[COMPONENTS].iloc[1390:] == 0).all().all()
    np.testing.assert_allclose(f[COMPONENTS].sum(axis=1), f["option_pnl"], rtol=0, atol=1e-9)
    assert a.totals["option_pnl"] == pytest.approx(-3187.6212913403615, rel=1e-9)
    assert a.totals["option_pnl"] == pytest.approx(r.summary["option_pnl"], rel=1e-12)
    assert abs(a.totals["option_residual"]) < 0.02 * a.totals["gross_gamma_theta"]
