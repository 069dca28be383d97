"""Implied vol: round trips over the grid, 1-day and deep wings, bounds and reason codes.

Where the option's time value (the out-of-the-money side's price) is below 1e-12 * spot the
round trip cannot identify a vol: an out-of-the-money price that underflowed to exactly 0 must
give IV_BELOW_INTRINSIC, and an in-the-money price whose time value is lost in rounding must
either give IV_BELOW_INTRINSIC or a vol that reprices the option (any vol does).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.pricing import (
    IV_ABOVE_UPPER_BOUND,
    IV_AT_EXPIRY,
    IV_BAD_INPUT,
    IV_BELOW_INTRINSIC,
    IV_NO_CONVERGENCE,
    IV_OK,
    IV_REASONS,
    greeks,
    implied_vol,
    implied_vol_nb,
    implied_vol_result,
    iv_reason,
    price_nb,
)

from ._reference import case_id, describe, grid_cases

CASES = grid_cases()


def _otm_price(c):
    """Price of the out-of-the-money side (relative to the forward) = the time value."""
    s, k, t, r, q = c["spot"], c["strike"], c["t"], c["r"], c["q"]
    fwd = s * math.exp((r - q) * t) if c["model"] == "bs" else s
    model = 0 if c["model"] == "bs" else 1
    return price_nb(model, k >= fwd, s, k, t, c["vol"], r, q)


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_round_trip(c):
    args = (c["kind"], c["spot"], c["strike"], c["t"])
    rq = {"r": c["r"], "q": c["q"], "model": c["model"]}
    g = greeks(*args, c["vol"], **rq)
    res = implied_vol_result(g.price, *args, **rq)
    msg = f"{describe(c)} price={g.price!r} -> {res}"
    time_value = _otm_price(c)
    if time_value <= 1e-12 * c["spot"]:
        if time_value == 0.0 and g.price == res.lower_bound == 0.0:
            assert res.code == IV_BELOW_INTRINSIC, msg
            assert math.isnan(res.vol), msg
            return
        if res.code == IV_BELOW_INTRINSIC:
            assert math.isnan(res.vol), msg
            return
    assert res.code == IV_OK, msg
    repriced = greeks(*args, res.vol, **rq).price
    assert abs(repriced - g.price) <= max(1e-10 * g.price, 1e-13 * c["spot"]), msg
    if g.vega > 1e-4 * c["spot"]:
        assert res.vol == pytest.approx(c["vol"], rel=1e-9), msg


def test_underflow_case_is_reported_not_zero():
    # K = 150 % of spot, 20 % vol, 1 day: the call is worth ~1e-330 -> 0.0 in float64.
    g = greeks("call", 100.0, 150.0, 1 / 365, 0.2)
    assert g.price == 0.0
    res = implied_vol_result(g.price, "call", 100.0, 150.0, 1 / 365)
    assert res.code == IV_BELOW_INTRINSIC and math.isnan(res.vol)


@pytest.mark.parametrize(
    ("kind", "pct", "vol", "days"),
    [
        ("call", 150, 0.2, 30),  # price ~ 2e-10 at S=30000: tiny but representable
        ("put", 60, 0.3, 7),
        ("call", 110, 0.2, 1),
        ("put", 95, 0.05, 1),
        ("call", 100, 0.01, 1),
        ("call", 30, 0.5, 1),  # deep ITM, 1 day
        ("put", 300, 2.0, 10),
        ("call", 100, 5.0, 3650),
    ],
)
def test_round_trip_wings_and_short_dated(kind, pct, vol, days):
    s = 30000.0
    k = s * pct / 100
    t = days / 365
    p = greeks(kind, s, k, t, vol, 0.03, 0.01).price
    v = implied_vol(p, kind, s, k, t, 0.03, 0.01)
    p2 = greeks(kind, s, k, t, v, 0.03, 0.01).price
    assert abs(p2 - p) <= max(1e-10 * p, 1e-13 * s), (kind, pct, vol, days, p, p2, v)


def test_tiny_price_recovers_vol_precisely():
    p = greeks("call", 100.0, 150.0, 30 / 365, 0.2).price
    assert 1e-13 < p < 1e-11  # ~7.3e-13
    assert implied_vol(p, "call", 100.0, 150.0, 30 / 365) == pytest.approx(0.2, rel=1e-10)


@pytest.mark.parametrize("model", ["bs", "black76"])
@pytest.mark.parametrize("kind", ["call", "put"])
def test_bounds_and_codes(model, kind):
    s, k, t, r = 100.0, 90.0, 0.25, 0.05
    q = 0.02 if model == "bs" else 0.0
    res = implied_vol_result(10.0, kind, s, k, t, r, q, model=model)
    lo, hi = res.lower_bound, res.upper_bound
    df = math.exp(-r * t)
    fwd = s * math.exp((r - q) * t) if model == "bs" else s
    if kind == "call":
        assert lo == pytest.approx(df * (fwd - k), rel=1e-14)
        assert hi == pytest.approx(df * fwd, rel=1e-14)
    else:
        assert lo == 0.0
        assert hi == pytest.approx(df * k, rel=1e-14)
    prices = [lo - 0.01, lo, -1.0, hi, hi + 0.01, 1e9]
    out = implied_vol_result(prices, kind, s, k, t, r, q, model=model)
    assert out.code.tolist() == [
        IV_BELOW_INTRINSIC,
        IV_BELOW_INTRINSIC,
        IV_BELOW_INTRINSIC,
        IV_ABOVE_UPPER_BOUND,
        IV_ABOVE_UPPER_BOUND,
        IV_ABOVE_UPPER_BOUND,
    ]
    assert np.isnan(out.vol).all()
    assert not out.ok.any()
    assert out.reason[0] == IV_REASONS[IV_BELOW_INTRINSIC]
    assert out.reason[3] == IV_REASONS[IV_ABOVE_UPPER_BOUND]
    inside = 0.5 * (lo + hi)
    good = implied_vol_result(inside, kind, s, k, t, r, q, model=model)
    assert good.code == IV_OK and good.ok and good.reason == "ok"
    assert good.vol > 0


def test_at_expiry_code():
    res = implied_vol_result(5.0, "call", 105.0, 100.0, 0.0)
    assert res.code == IV_AT_EXPIRY and math.isnan(res.vol)
    assert "expiry" in res.reason
    assert implied_vol_nb(5.0, True, 105.0, 100.0, 0.0, 0.0, 0.0, 0) == (
        pytest.approx(math.nan, nan_ok=True),
        IV_AT_EXPIRY,
    )


@pytest.mark.parametrize(
    "args",
    [
        (5.0, True, -100.0, 100.0, 0.5, 0.0, 0.0, 0),
        (5.0, True, 100.0, 0.0, 0.5, 0.0, 0.0, 0),
        (5.0, True, 100.0, 100.0, -0.5, 0.0, 0.0, 0),
        (math.nan, True, 100.0, 100.0, 0.5, 0.0, 0.0, 0),
        (5.0, False, 100.0, 100.0, 0.5, math.nan, 0.0, 1),
        (5.0, True, 100.0, 100.0, 0.5, 0.0, math.inf, 0),
        (5.0, True, 100.0, 100.0, 0.5, 0.0, 0.0, 2),  # unknown model
    ],
)
def test_kernel_bad_input_code(args):
    vol, code = implied_vol_nb(*args)
    assert code == IV_BAD_INPUT
    assert math.isnan(vol)


def test_inverse_settlement_iv():
    usd = greeks("put", 30000.0, 27000.0, 14 / 365, 0.75, model="black76")
    coin = usd.price / 30000.0
    res = implied_vol_result(
        coin, "put", 30000.0, 27000.0, 14 / 365, model="black76", settlement="inverse"
    )
    assert res.code == IV_OK
    assert res.vol == pytest.approx(0.75, rel=1e-12)
    assert res.upper_bound == pytest.approx(27000.0 / 30000.0, rel=1e-15)
    assert res.lower_bound == 0.0


def test_array_iv_matches_scalar_and_shape():
    strikes = np.array([[20000.0, 30000.0], [40000.0, 50000.0]])
    prices = greeks("call", 30000.0, strikes, 0.1, 0.6).price
    prices[1, 1] = 1e9  # out of bounds
    res = implied_vol_result(prices, "call", 30000.0, strikes, 0.1)
    assert res.vol.shape == (2, 2) and res.code.shape == (2, 2)
    assert res.code.tolist() == [[IV_OK, IV_OK], [IV_OK, IV_ABOVE_UPPER_BOUND]]
    for idx in [(0, 0), (0, 1), (1, 0)]:
        one = implied_vol(float(prices[idx]), "call", 30000.0, float(strikes[idx]), 0.1)
        assert res.vol[idx] == one
        assert one == pytest.approx(0.6, rel=1e-9)
    assert math.isnan(res.vol[1, 1])
    assert isinstance(implied_vol(1000.0, "call", 30000.0, 30000.0, 0.1), float)


def test_reason_texts():
    assert set(IV_REASONS) == {
        IV_OK,
        IV_BELOW_INTRINSIC,
        IV_ABOVE_UPPER_BOUND,
        IV_BAD_INPUT,
        IV_NO_CONVERGENCE,
        IV_AT_EXPIRY,
    }
    assert (
        len(
            {
                IV_OK,
                IV_BELOW_INTRINSIC,
                IV_ABOVE_UPPER_BOUND,
                IV_BAD_INPUT,
                IV_NO_CONVERGENCE,
                IV_AT_EXPIRY,
            }
        )
        == 6
    )
    assert iv_reason(IV_OK) == "ok"
    assert "lower bound" in iv_reason(IV_BELOW_INTRINSIC)
    assert "upper bound" in iv_reason(IV_ABOVE_UPPER_BOUND)
    assert "converge" in iv_reason(IV_NO_CONVERGENCE)
    assert iv_reason(99) == "unknown implied-vol reason code 99"


def test_iv_api_validation():
    with pytest.raises(ValueError, match=r"price must be a finite number, got nan"):
        implied_vol(math.nan, "call", 100.0, 100.0, 0.5)
    with pytest.raises(ValueError, match=r"spot must be > 0, got 0.0"):
        implied_vol(5.0, "call", 0.0, 100.0, 0.5)
    with pytest.raises(ValueError, match=r"t_years must be >= 0, got -1.0"):
        implied_vol(5.0, "call", 100.0, 100.0, -1.0)
    with pytest.raises(ValueError, match=r"strike must be > 0; first bad value strike\[2\]"):
        implied_vol(5.0, "call", 100.0, [90.0, 100.0, -5.0], 0.5)
