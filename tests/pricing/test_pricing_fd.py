"""Greeks against central finite differences of our own prices; put-call parity; coin settlement."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gammaperp.pricing import (
    black76_price_nb,
    bs_price_nb,
    greeks,
    inverse_greeks_nb,
)

from ._reference import case_id, describe, grid_cases

FD_CASES = [
    {
        "model": model,
        "kind": kind,
        "spot": spot,
        "strike": spot * pct / 100.0,
        "pct": pct,
        "vol": vol,
        "days": days,
        "t": days / 365.0,
        "r": r,
        "q": q,
    }
    for model, kind, spot, pct, vol, days, r, q in itertools.product(
        ("bs", "black76"),
        ("call", "put"),
        (100.0, 30000.0),
        (80, 100, 120),
        (0.2, 0.8),
        (7, 180),
        (0.0, 0.05),
        (0.0, 0.02),
    )
    if not (model == "black76" and q != 0.0)
]


def _price(c, **over):
    """Our own price with some inputs overridden (Black-76 rho: r moves, forward fixed)."""
    x = {**c, **over}
    is_call = x["kind"] == "call"
    if x["model"] == "bs":
        return bs_price_nb(is_call, x["spot"], x["strike"], x["t"], x["vol"], x["r"], x["q"])
    return black76_price_nb(is_call, x["spot"], x["strike"], x["t"], x["vol"], x["r"])


def _fd_greeks(c):
    s, t, v, r = c["spot"], c["t"], c["vol"], c["r"]
    hs = 1e-4 * s
    ht = 1e-5 * t
    hv = 1e-5
    hr = 1e-5
    up, mid, dn = _price(c, spot=s + hs), _price(c), _price(c, spot=s - hs)
    return {
        "delta": (up - dn) / (2 * hs),
        "gamma": (up - 2 * mid + dn) / (hs * hs),
        "vega": (_price(c, vol=v + hv) - _price(c, vol=v - hv)) / (2 * hv),
        # theta: calendar time passing = time to expiry shrinking
        "theta": -(_price(c, t=t + ht) - _price(c, t=t - ht)) / (2 * ht),
        "rho": (_price(c, r=r + hr) - _price(c, r=r - hr)) / (2 * hr),
    }


def _scale(name, spot):
    # gamma's finite difference carries rounding noise ~ eps * price / h^2 ~ 2e-8 / spot
    return {"delta": 1.0, "gamma": 100.0 / spot}.get(name, spot)


@pytest.mark.parametrize("c", FD_CASES, ids=[case_id(c) for c in FD_CASES])
def test_greeks_match_finite_differences(c):
    g = greeks(
        c["kind"], c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"], model=c["model"]
    )
    assert g.price == _price(c)
    fd = _fd_greeks(c)
    bad = []
    for name, approx in fd.items():
        tol = 1e-5 * abs(approx) + 1e-8 * _scale(name, c["spot"])
        if abs(g[name] - approx) > tol:
            bad.append(f"  {name}: analytic={g[name]!r} finite-diff={approx!r} tol={tol:.3g}")
    assert not bad, "greeks vs finite differences for " + describe(c) + "\n" + "\n".join(bad)


def test_black76_rho_is_minus_t_times_price():
    g = greeks("call", 100.0, 110.0, 0.5, 0.6, 0.05, model="black76")
    assert g.rho == pytest.approx(-0.5 * g.price, rel=1e-15)
    assert g.price == pytest.approx(12.75295720593353, rel=1e-14)


PARITY_CASES = grid_cases(extra_q=True)
PARITY_CASES = [c for c in PARITY_CASES if c["kind"] == "call"]


@pytest.mark.parametrize("c", PARITY_CASES[::3], ids=[case_id(c) for c in PARITY_CASES[::3]])
def test_put_call_parity(c):
    args = (c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"])
    call = greeks("call", *args, model=c["model"])
    put = greeks("put", *args, model=c["model"])
    s, k, t, r, q = c["spot"], c["strike"], c["t"], c["r"], c["q"]
    df = math.exp(-r * t)
    if c["model"] == "bs":
        carry = math.exp(-q * t)
        fwd_value = s * carry - k * df
    else:
        carry = df
        fwd_value = df * (s - k)
    msg = describe(c)
    assert call.price - put.price == pytest.approx(fwd_value, abs=1e-12 * s), msg
    assert call.delta - put.delta == pytest.approx(carry, abs=1e-14), msg
    assert call.gamma == pytest.approx(put.gamma, rel=1e-14, abs=1e-300), msg
    assert call.vega == pytest.approx(put.vega, rel=1e-14, abs=1e-300), msg


def test_parity_numbers_pinned():
    # S=100, K=110, T=0.5, vol=0.6, r=5 %, q=1 %: C - P = 100 e^{-0.005} - 110 e^{-0.025}
    call = greeks("c", 100.0, 110.0, 0.5, 0.6, 0.05, 0.01)
    put = greeks("p", 100.0, 110.0, 0.5, 0.6, 0.05, 0.01)
    assert call.price == pytest.approx(13.746834991044288, rel=1e-13)
    assert call.price - put.price == pytest.approx(
        100 * math.exp(-0.005) - 110 * math.exp(-0.025), abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# Coin-settled (inverse) options
# --------------------------------------------------------------------------------------------

INV_CASES = [c for c in FD_CASES if c["r"] == 0.05 and c["days"] == 180][::2] + [
    c for c in FD_CASES if c["days"] == 7 and c["vol"] == 0.8 and c["r"] == 0.0
][::2]


def _coin_price(c, **over):
    x = {**c, **over}
    return _price(c, **over) / x["spot"]


@pytest.mark.parametrize("c", INV_CASES, ids=[case_id(c) for c in INV_CASES])
def test_inverse_coin_price_and_greeks(c):
    args = (c["kind"], c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"])
    usd = greeks(*args, model=c["model"])
    coin = greeks(*args, model=c["model"], settlement="inverse")
    s = c["spot"]
    msg = describe(c)
    assert coin.settlement == "inverse"
    assert coin.price == usd.price / s, msg
    hs = 1e-4 * s
    up, mid, dn = _coin_price(c, spot=s + hs), _coin_price(c), _coin_price(c, spot=s - hs)
    fd_delta = (up - dn) / (2 * hs)
    fd_gamma = (up - 2 * mid + dn) / (hs * hs)
    assert coin.delta == pytest.approx(fd_delta, rel=1e-5, abs=1e-8 / s), msg
    assert coin.gamma == pytest.approx(fd_gamma, rel=1e-5, abs=1e-8 / s**2), msg
    hv, ht, hr = 1e-5, 1e-5 * c["t"], 1e-5
    fd_vega = (_coin_price(c, vol=c["vol"] + hv) - _coin_price(c, vol=c["vol"] - hv)) / (2 * hv)
    fd_theta = -(_coin_price(c, t=c["t"] + ht) - _coin_price(c, t=c["t"] - ht)) / (2 * ht)
    fd_rho = (_coin_price(c, r=c["r"] + hr) - _coin_price(c, r=c["r"] - hr)) / (2 * hr)
    assert coin.vega == pytest.approx(fd_vega, rel=1e-5, abs=1e-8), msg
    assert coin.theta == pytest.approx(fd_theta, rel=1e-5, abs=1e-8), msg
    assert coin.rho == pytest.approx(fd_rho, rel=1e-5, abs=1e-8), msg
    assert coin.theta_per_day == coin.theta / 365.0
    # premium-adjusted delta: S * delta_coin == USD delta - coin price
    assert coin.delta_premium_adjusted == pytest.approx(usd.delta - coin.price, rel=1e-15)
    assert coin.delta_premium_adjusted == pytest.approx(s * coin.delta, rel=1e-12, abs=1e-15)


def test_inverse_kernel_matches_api():
    k = inverse_greeks_nb(0, True, 30000.0, 33000.0, 30 / 365, 0.6, 0.0, 0.0)
    g = greeks("call", 30000.0, 33000.0, 30 / 365, 0.6, settlement="inverse")
    assert k == (g.price, g.delta, g.gamma, g.vega, g.theta, g.rho)


def test_inverse_pinned_values():
    # Deribit-style BTC call, S = F = 30000, K = 33000, 30 days, 60 %: USD value / F.
    g = greeks("call", 30000.0, 33000.0, 30 / 365, 0.6, model="black76", settlement="inverse")
    usd = greeks("call", 30000.0, 33000.0, 30 / 365, 0.6, model="black76")
    assert g.price == usd.price / 30000.0
    assert g.delta == (usd.delta - g.price) / 30000.0
    assert g.gamma == (usd.gamma - 2 * g.delta) / 30000.0
    assert g.delta_premium_adjusted == usd.delta - g.price
    assert 0 < g.delta_premium_adjusted < usd.delta


def test_inverse_at_expiry_is_exact_derivative_of_payoff_over_spot():
    # V_coin = max(S - K, 0) / S = 1 - K/S for S > K: delta = K/S^2, gamma = -2K/S^3
    g = greeks("call", 40000.0, 30000.0, 0.0, 0.5, settlement="inverse")
    assert g.price == 10000.0 / 40000.0
    assert g.delta == pytest.approx(30000.0 / 40000.0**2, rel=1e-15)
    assert g.gamma == pytest.approx(-2 * 30000.0 / 40000.0**3, rel=1e-15)
    assert (g.vega, g.theta, g.rho) == (0.0, 0.0, 0.0)


def test_inverse_arrays_match_scalars():
    strikes = np.array([20000.0, 30000.0, 45000.0])
    arr = greeks("put", 30000.0, strikes, 0.1, 0.7, settlement="inverse")
    for i, k in enumerate(strikes):
        one = greeks("put", 30000.0, k, 0.1, 0.7, settlement="inverse")
        for name in one:
            assert arr[name][i] == one[name], name
