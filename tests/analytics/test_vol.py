"""Realised-vol estimators on hand inputs and a long GBM path; the theoretical gamma P&L."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.analytics import (
    attribute_pnl,
    bars_per_year,
    close_to_close_vol,
    garman_klass_vol,
    parkinson_vol,
    realized_vs_implied,
    theoretical_gamma_pnl,
)
from gammaperp.data.synthetic import gbm_path
from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.specs import StraddleSpec

from .conftest import make_market

E = math.e
BAR_100 = 365 * 86_400 / 100  # a bar length giving exactly 100 bars a year


def test_bars_per_year():
    assert bars_per_year(60) == 525_600.0
    assert bars_per_year(BAR_100) == pytest.approx(100.0, rel=1e-15)
    with pytest.raises(ValueError, match="bar_seconds"):
        bars_per_year(0)


def test_close_to_close_by_hand():
    # log returns 0.1 and -0.2; window 2: mean of squares (0.01 + 0.04) / 2 = 0.025 per bar,
    # x 100 bars a year = 2.5 -> sqrt 1.5811388
    close = [1.0, E**0.1, E**-0.1]
    got = close_to_close_vol(close, 2, BAR_100)
    assert np.isnan(got[:2]).all()
    assert got[2] == pytest.approx(math.sqrt(2.5), rel=1e-12)
    assert got[2] == pytest.approx(1.5811388300841898, rel=1e-12)
    # demeaned: mean -0.05, deviations 0.15 and -0.15, var (ddof 1) 0.045 -> sqrt(4.5)
    assert close_to_close_vol(close, 2, BAR_100, demean=True)[2] == pytest.approx(
        2.1213203435596424, rel=1e-12
    )
    # window 1: each return alone: sqrt(0.01 x 100) = 1, sqrt(0.04 x 100) = 2
    np.testing.assert_allclose(close_to_close_vol(close, 1, BAR_100)[1:], [1.0, 2.0], rtol=1e-12)


def test_parkinson_and_garman_klass_by_hand():
    # bar 1: O 1, H e^.2, L 1, C e^.1; bar 2: O 1, H e^.3, L e^-.1, C e^-.1
    o = [1.0, 1.0]
    h = [E**0.2, E**0.3]
    lo = [1.0, E**-0.1]
    c = [E**0.1, E**-0.1]
    # ln(H/L) = 0.2, 0.4; ln(C/O) = 0.1, -0.1
    # Parkinson: mean(0.04, 0.16) / (4 ln 2) = 0.1 / 2.7725887 = 0.0360674 -> x 100 -> 1.8991413
    pk = parkinson_vol(h, lo, 2, BAR_100)
    assert np.isnan(pk[0])
    assert pk[1] == pytest.approx(1.899141280216511, rel=1e-12)
    # Garman-Klass: 0.5 x 0.04 - (2 ln 2 - 1) x 0.01 = 0.0161371; 0.5 x 0.16 - 0.0038629 =
    # 0.0761371; mean 0.0461371 x 100 = 4.6137056 -> 2.1479538
    gk = garman_klass_vol(o, h, lo, c, 2, BAR_100)
    assert gk[1] == pytest.approx(2.147953826058677, rel=1e-12)
    with pytest.raises(ValueError, match="window"):
        parkinson_vol(h, lo, 0, BAR_100)


def test_estimators_recover_sigma_on_a_long_gbm_path():
    # 1,600 hourly bars, each built from 2,500 GBM sub-steps, sigma 80 %
    sigma, n_bars, k, bar_s = 0.8, 1600, 2500, 3600.0
    p = gbm_path(30_000.0, sigma, n_bars * k + 1, bar_s / k / (365 * 86_400), seed=7)
    body = p[1:].reshape(n_bars, k)
    o = p[0:-1:k]
    c = p[k::k]
    h = np.maximum(body.max(axis=1), o)
    lo = np.minimum(body.min(axis=1), o)
    # close-to-close on 160,000 returns of 90 s: standard error sigma / sqrt(2 n) = 0.18 %
    cc = close_to_close_vol(p[::25], p[::25].size - 1, bar_s / 100)[-1]
    assert cc == pytest.approx(sigma, rel=0.01)
    assert cc == pytest.approx(0.8016541, rel=1e-6)
    # range estimators: standard error ~ 0.8 % on 1,600 bars, plus the known downward bias of
    # a range seen on 2,500 discrete points instead of continuously (~1.5 % in vol): 4 %
    pk = parkinson_vol(h, lo, n_bars, bar_s)[-1]
    gk = garman_klass_vol(o, h, lo, c, n_bars, bar_s)[-1]
    assert pk == pytest.approx(sigma, rel=0.04)
    assert gk == pytest.approx(sigma, rel=0.04)
    assert pk == pytest.approx(0.7842259, rel=1e-6)
    assert gk == pytest.approx(0.7883576, rel=1e-6)


def test_realized_vs_implied_on_the_reference_run(synthetic_full):
    d = realized_vs_implied(synthetic_full, window=1440)
    assert list(d.columns) == ["close_to_close", "parkinson", "garman_klass", "implied", "spread"]
    m = synthetic_full.market
    assert len(d) == m.n_bars
    np.testing.assert_array_equal(d["implied"], m.iv[0])
    # the first full window: 1,440 returns end at bar 1,440; 1,440 ranges at bar 1,439
    assert d["close_to_close"].iloc[:1440].isna().all() and d["close_to_close"].notna().iloc[1440]
    assert d["parkinson"].iloc[:1439].isna().all() and d["parkinson"].notna().iloc[1439]
    last = d.iloc[-1]
    assert last["close_to_close"] == pytest.approx(0.8382848260333102, rel=1e-9)
    assert last["parkinson"] == pytest.approx(0.8597818215823609, rel=1e-9)
    assert last["garman_klass"] == pytest.approx(0.8679434380850785, rel=1e-9)
    assert last["spread"] == pytest.approx(0.8382848260333102 - 0.8264691818266702, rel=1e-9)
    g = realized_vs_implied(synthetic_full, window=1440, estimator="parkinson")
    assert g["spread"].iloc[-1] == pytest.approx(0.8597818215823609 - 0.8264691818266702)
    with pytest.raises(ValueError, match="estimator"):
        realized_vs_implied(synthetic_full, estimator="yang_zhang")


def test_theoretical_gamma_pnl_one_step_by_hand():
    # S 100 -> 101 on a daily bar, 30-day ATM straddle at 50 %: gamma 0.0555188 (see
    # test_attribution). 1/2 Gamma (dS^2 - S^2 sigma^2 dt) = 0.0277594 x (1 - 2,500/365)
    # = -0.1623736
    spec = RunSpec(
        venues=(VenueSpec(name="venue", capital=1e6, tiers="flat"),),
        strategy=StraddleSpec(instrument="PERP", venue="venue", hedge_instrument=None),
    )
    r = simulate(make_market([100.0, 101.0], bar_seconds=86_400, iv=0.5), spec)
    t = theoretical_gamma_pnl(r)
    assert t["theoretical"].iloc[1] == pytest.approx(-0.16237359225516546, rel=1e-9)
    assert t["dollar_gamma_pnl"].iloc[1] == pytest.approx(0.5 * 0.055518839506450014, rel=1e-9)
    assert t["theoretical"].iloc[0] == 0.0


def test_theoretical_gamma_pnl_identity_on_the_reference_run(synthetic_full):
    t = theoretical_gamma_pnl(synthetic_full)
    np.testing.assert_allclose(
        t["theoretical"], t["dollar_gamma_pnl"] + t["variance_cost"], rtol=0, atol=1e-12
    )
    a = attribute_pnl(synthetic_full).totals
    # sum 1/2 Gamma dS^2 is the attribution's gamma P&L; with Black-Scholes and r = q = 0
    # theta = -1/2 Gamma S^2 sigma^2, so the variance cost is the theta P&L
    assert t["dollar_gamma_pnl"].sum() == pytest.approx(a["gamma_pnl"], rel=1e-12)
    assert t["variance_cost"].sum() == pytest.approx(a["theta_pnl"], rel=1e-9)
    assert t["theoretical"].sum() == pytest.approx(-606.4474396459227, rel=1e-6)
    # simulated: option + hedge P&L -36.11; net of funding and fees: the run's total P&L
    assert t["simulated"].sum() == pytest.approx(-36.10551706151594, rel=1e-6)
    assert t["simulated_net"].sum() == pytest.approx(synthetic_full.summary["total_pnl"], abs=1e-7)
