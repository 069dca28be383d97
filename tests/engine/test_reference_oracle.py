"""Tests of the independent reference-job oracle (tests/oracles/reference_job.py)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest


def _load_oracle():
    name = "tests.oracles.reference_job"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "oracles" / "reference_job.py"
    spec = importlib.util.spec_from_file_location("_gammaperp_reference_job_oracle", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


oracle = _load_oracle()
run_reference_job = oracle.run_reference_job

YEAR = 525_600


def _ncdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _assert_identity(res):
    total = res["option_pnl"] + res["perp_pnl"] - res["fees"] - res["funding"]
    assert res["total_pnl"] == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_oracle_does_not_import_gammaperp():
    src = (Path(__file__).resolve().parents[1] / "oracles" / "reference_job.py").read_text()
    imports = [ln for ln in src.splitlines() if ln.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations", "import math", "import numpy as np"]


def test_gbm_path():
    closes = oracle.gbm_closes(6)
    assert closes[0] == 30_000.0
    dt = 1.0 / YEAR
    z = np.random.default_rng(7).standard_normal(5)
    inc = 0.80 * math.sqrt(dt) * z - 0.5 * 0.80**2 * dt
    expected = [30_000.0 * math.exp(sum(inc[:i])) for i in range(6)]
    np.testing.assert_allclose(closes, expected, rtol=1e-14)
    # the short path is the prefix of the long one
    np.testing.assert_array_equal(oracle.gbm_closes(1000)[:6], closes)


def test_hand_case_tiny_vol():
    # iv ~ 0 makes every straddle worth its intrinsic value and its delta sign(S - K) (0 at
    # the money, where the premium is ~1e-10), so every cash flow is plain arithmetic.
    # closes 100, 110, 90, 95, 120; expiry every 2 bars; funding every 2 bars at 1 %;
    # fee 10 bps; band 0.05.
    res = run_reference_job(
        closes=[100.0, 110.0, 90.0, 95.0, 120.0],
        expiry_bars=2,
        funding_every=2,
        funding_rate=0.01,
        fee=0.001,
        iv=1e-9,
    )
    # bar 0: buy straddle K=100 (~0); delta ~0 -> no trade.
    # bar 1: S=110 > K: delta 1, net 1 -> sell 1 @110: perp cash +110, fee 0.110. pos -1.
    # bar 2: funding -1 * 90 * 1 % = -0.90 (received). Expiry: +|90-100| = 10; buy K=90 (~0).
    #        new delta ~0, net -1 -> buy 1 @90: cash -90, fee 0.090. pos ~0.
    # bar 3: S=95 > 90: delta 1 -> sell 1 @95: cash +95, fee 0.095. pos -1.
    # bar 4: funding -1 * 120 * 1 % = -1.20. Expiry: +|120-90| = 30; buy K=120 (~0);
    #        delta ~0, net -1 -> buy 1 @120: cash -120, fee 0.120. Mark straddle ~0, pos ~0.
    option = 10.0 + 30.0  # = 40
    perp = 110.0 - 90.0 + 95.0 - 120.0  # = -5
    fees = 0.110 + 0.090 + 0.095 + 0.120  # = 0.415
    funding = -0.90 - 1.20  # = -2.10
    assert res["n_trades"] == 4
    assert res["n_rolls"] == 2
    assert res["option_pnl"] == pytest.approx(option, abs=1e-6)
    assert res["perp_pnl"] == pytest.approx(perp, abs=1e-6)
    assert res["fees"] == pytest.approx(fees, abs=1e-9)
    assert res["funding"] == pytest.approx(funding, abs=1e-12)
    assert res["total_pnl"] == pytest.approx(option + perp - fees - funding, abs=1e-6)  # 36.685
    assert res["final_position"] == pytest.approx(0.0, abs=1e-9)
    _assert_identity(res)


def test_hand_case_black_scholes():
    # Default job parameters (iv 60 %, 30-day expiry, fee 4 bps, band 0.05, funding 1 bp)
    # with funding every 2 bars and three given closes.
    s0, s1, s2 = 30_000.0, 30_600.0, 29_400.0
    res = run_reference_job(closes=[s0, s1, s2], funding_every=2)
    K = s0
    iv = 0.60

    def straddle(S, bars_left):
        tau = bars_left / YEAR
        sd = iv * math.sqrt(tau)
        d1 = (math.log(S / K) + 0.5 * sd * sd) / sd
        d2 = d1 - sd
        call = S * _ncdf(d1) - K * _ncdf(d2)
        put = K * _ncdf(-d2) - S * _ncdf(-d1)
        return call + put, 2 * _ncdf(d1) - 1

    # bar 0, at the money: call = put = S * (N(sd/2) - N(-sd/2)) = S * (2 N(sd/2) - 1), so
    # P0 = 4 * 30,000 * (N(sd/2) - 0.5) with sd = 0.6 * sqrt(30/365) ~ 0.172
    p0, delta0 = straddle(s0, 43_200)
    sd0 = 0.6 * math.sqrt(30 / 365)
    assert p0 == pytest.approx(4 * s0 * (_ncdf(sd0 / 2) - 0.5), rel=1e-12)
    assert p0 == pytest.approx(4112.36, abs=0.01)
    assert delta0 == pytest.approx(0.0686, abs=1e-4)
    # delta0 ~ 0.0686 > 0.05 -> sell delta0 @30,000
    q0 = -delta0
    # bar 1: delta1 ~ 0.16; net = delta1 - delta0 ~ 0.09 > 0.05 -> trade to -delta1
    _, delta1 = straddle(s1, 43_199)
    q1 = -delta1 - q0
    assert abs(delta1 + q0) > 0.05
    # bar 2: funding on the carried position -delta1: -delta1 * 29,400 * 0.0001
    funding = -delta1 * s2 * 0.0001
    v2, delta2 = straddle(s2, 43_198)
    assert abs(delta2 - delta1) > 0.05
    q2 = -delta2 - (-delta1)
    perp = -(q0 * s0 + q1 * s1 + q2 * s2) + (-delta2) * s2
    fees = 0.0004 * (abs(q0) * s0 + abs(q1) * s1 + abs(q2) * s2)
    option = -p0 + v2
    assert res["n_trades"] == 3
    assert res["n_rolls"] == 0
    assert res["option_pnl"] == pytest.approx(option, rel=1e-12)
    assert res["perp_pnl"] == pytest.approx(perp, rel=1e-12)
    assert res["fees"] == pytest.approx(fees, rel=1e-12)
    assert res["funding"] == pytest.approx(funding, rel=1e-12)
    assert res["final_position"] == pytest.approx(-delta2, rel=1e-15)
    _assert_identity(res)


def test_last_bar_is_an_expiry_bar():
    # expiry at bar 3 == last bar: settle, buy the new straddle, hedge, then mark it at the
    # same model value, so the new straddle contributes exactly 0.
    closes = [100.0, 104.0, 97.0, 101.0]
    res = run_reference_job(closes=closes, expiry_bars=3, iv=0.5, bars_per_year=365)
    p0, _ = oracle.straddle_value_delta(100.0, 100.0, 3 / 365, 0.5)
    assert res["n_rolls"] == 1
    assert res["option_pnl"] == pytest.approx(-p0 + 1.0, rel=1e-12)
    _, d_new = oracle.straddle_value_delta(101.0, 101.0, 3 / 365, 0.5)
    assert res["final_position"] == pytest.approx(-d_new, rel=1e-12)
    _assert_identity(res)


def test_no_trades_with_huge_band():
    res = run_reference_job(n=2_000, band=10.0, expiry_bars=500, funding_every=100)
    assert res["n_trades"] == 0
    assert res["perp_pnl"] == 0.0
    assert res["fees"] == 0.0
    assert res["funding"] == 0.0
    assert res["n_rolls"] == 3  # bars 500, 1000, 1500
    _assert_identity(res)


@pytest.mark.parametrize(
    ("n", "band", "iv", "expiry_bars", "funding_every", "sigma"),
    [
        (3_000, 0.05, 0.6, 700, 480, 0.8),
        (5_001, 0.01, 0.9, 1_000, 100, 0.5),
        (10_000, 0.2, 0.4, 2_500, 480, 1.2),
    ],
)
def test_identity_and_rolls(n, band, iv, expiry_bars, funding_every, sigma):
    res = run_reference_job(
        n=n, band=band, iv=iv, expiry_bars=expiry_bars, funding_every=funding_every, sigma=sigma
    )
    _assert_identity(res)
    assert res["n_rolls"] == (n - 1) // expiry_bars
    assert res["fees"] > 0.0
    assert res["n"] == n


def test_invalid_closes():
    with pytest.raises(ValueError, match="closes"):
        run_reference_job(closes=[100.0, -1.0])
    with pytest.raises(ValueError, match="closes"):
        run_reference_job(closes=[])
    with pytest.raises(ValueError, match="expiry_bars"):
        run_reference_job(n=10, expiry_bars=0)


# Full reference job: one year of one-minute bars (~1 s).
FULL_YEAR = {
    "total_pnl": 13931.800058354747,
    "option_pnl": 950.6432912712844,
    "perp_pnl": 16631.65723473175,
    "fees": 4081.4893076490152,
    "funding": -430.9888400007299,
    "n_trades": 5876,
    "n_rolls": 12,
    "final_position": -0.3977649883250973,
    "final_close": 43505.82652012214,
}


def test_full_year_pinned():
    res = run_reference_job()
    assert res["n"] == 525_600
    assert res["n_trades"] == FULL_YEAR["n_trades"]
    assert res["n_rolls"] == FULL_YEAR["n_rolls"]
    for key in ("total_pnl", "option_pnl", "perp_pnl", "fees", "funding", "final_position",
                "final_close"):  # fmt: skip
        assert res[key] == pytest.approx(FULL_YEAR[key], rel=1e-9), key
    _assert_identity(res)
