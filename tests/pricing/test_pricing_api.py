"""Python API behaviour: expiry, validation, broadcasting, result object, kernels in njit code."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from gammaperp.pricing import (
    IV_OK,
    Greeks,
    black76_delta_gamma_nb,
    black76_greeks_nb,
    black76_price_nb,
    bs_delta_gamma_nb,
    bs_greeks_nb,
    bs_price_nb,
    delta_gamma,
    delta_gamma_nb,
    greeks,
    greeks_nb,
    implied_vol_nb,
    inverse_greeks_nb,
    norm_cdf_nb,
    norm_pdf_nb,
    price_nb,
    sum_greeks,
)
from gammaperp.pricing._nb import _mills_nb, norm_cdf_pdf_nb

NAMES = ("price", "delta", "gamma", "vega", "theta", "theta_per_day", "rho")

# --------------------------------------------------------------------------------------------
# Expiry and tiny T
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["bs", "black76"])
@pytest.mark.parametrize(
    ("kind", "spot", "price", "delta"),
    [
        ("call", 110.0, 10.0, 1.0),
        ("call", 90.0, 0.0, 0.0),
        ("call", 100.0, 0.0, 0.5),
        ("put", 110.0, 0.0, 0.0),
        ("put", 90.0, 10.0, -1.0),
        ("put", 100.0, 0.0, -0.5),
    ],
)
def test_expiry_exact(model, kind, spot, price, delta):
    q = 0.02 if model == "bs" else 0.0
    g = greeks(kind, spot, 100.0, 0.0, 0.8, r=0.05, q=q, model=model)
    assert g.to_dict() == {
        "price": price,
        "delta": delta,
        "gamma": 0.0,
        "vega": 0.0,
        "theta": 0.0,
        "theta_per_day": 0.0,
        "rho": 0.0,
    }


def test_expiry_kernels_do_not_need_vol():
    # At T == 0 vol is irrelevant: 0 is accepted by the kernels (the API requires vol > 0).
    assert bs_greeks_nb(True, 120.0, 100.0, 0.0, 0.0, 0.05, 0.0) == (20.0, 1.0, 0, 0, 0, 0)
    assert bs_delta_gamma_nb(False, 100.0, 100.0, 0.0, 0.3, 0.0, 0.0) == (-0.5, 0.0)
    assert black76_delta_gamma_nb(True, 99.0, 100.0, 0.0, 0.3, 0.0) == (0.0, 0.0)
    assert bs_price_nb(False, 80.0, 100.0, 0.0, 0.3, 0.1, 0.0) == 20.0
    assert black76_price_nb(True, 130.0, 100.0, 0.0, 0.3, 0.1) == 30.0


@pytest.mark.parametrize("t", [1e-12, 1e-20, 1e-300, 5e-324])
@pytest.mark.parametrize("strike", [99.0, 100.0, 101.0])
@pytest.mark.parametrize("vol", [1e-3, 0.5, 5.0])
@pytest.mark.parametrize("model", [0, 1])
def test_tiny_t_is_finite(t, strike, vol, model):
    for is_call in (True, False):
        g = greeks_nb(model, is_call, 100.0, strike, t, vol, 0.05, 0.0)
        assert all(math.isfinite(x) for x in g), (t, strike, vol, model, is_call, g)
        intrinsic = max(100.0 - strike, 0.0) if is_call else max(strike - 100.0, 0.0)
        # time value <= S * vol * sqrt(T) / sqrt(2 pi) at the money
        assert g[0] == pytest.approx(intrinsic, abs=100.0 * vol * math.sqrt(t) + 1e-300)
        assert -1.0 <= g[1] <= 1.0
        assert g[2] >= 0.0 and g[3] >= 0.0
        dg = delta_gamma_nb(model, is_call, 100.0, strike, t, vol, 0.05, 0.0)
        assert dg == (g[1], g[2])


def test_tiny_t_pinned():
    # T = 1e-12 at the money: price ~ S*vol*sqrt(T)/sqrt(2 pi), delta -> 0.5
    g = greeks("call", 100.0, 100.0, 1e-12, 0.6)
    assert g.price == pytest.approx(100 * 0.6e-6 / math.sqrt(2 * math.pi), rel=1e-6)
    assert g.delta == pytest.approx(0.5, abs=1e-6)
    assert g.gamma == pytest.approx(1 / (math.sqrt(2 * math.pi) * 100 * 0.6e-6), rel=1e-6)


def test_zero_vol_limit_branch():
    # vol * sqrt(T) below 1e-100 -> deterministic limit: discounted forward intrinsic.
    g = bs_greeks_nb(True, 100.0, 90.0, 1.0, 1e-120, 0.05, 0.02)
    assert g[0] == pytest.approx(100 * math.exp(-0.02) - 90 * math.exp(-0.05), rel=1e-14)
    assert g[1] == pytest.approx(math.exp(-0.02), rel=1e-15)
    assert g[2:4] == (0.0, 0.0)
    assert g[4] == pytest.approx(0.02 * 100 * math.exp(-0.02) - 0.05 * 90 * math.exp(-0.05))
    assert g[5] == pytest.approx(90 * math.exp(-0.05), rel=1e-14)
    assert black76_greeks_nb(False, 100.0, 90.0, 1.0, 1e-120, 0.05) == (0, 0, 0, 0, 0, 0)


# --------------------------------------------------------------------------------------------
# Invalid inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spot": -1.0}, r"^spot must be > 0, got -1.0$"),
        ({"spot": 0.0}, r"^spot must be > 0, got 0.0$"),
        ({"strike": 0.0}, r"^strike must be > 0, got 0.0$"),
        ({"vol": 0.0}, r"^vol must be > 0, got 0.0$"),
        ({"vol": -0.2}, r"^vol must be > 0, got -0.2$"),
        ({"t_years": -0.01}, r"^t_years must be >= 0, got -0.01$"),
        ({"spot": math.nan}, r"^spot must be a finite number, got nan$"),
        ({"vol": math.inf}, r"^vol must be a finite number, got inf$"),
        ({"r": math.nan}, r"^r must be a finite number, got nan$"),
        ({"q": math.nan}, r"^q must be a finite number, got nan$"),
        ({"spot": [100.0, -1.0, 5.0]}, r"^spot must be > 0; first bad value spot\[1\] = -1.0$"),
        (
            {"strike": [[1.0, 2.0], [3.0, math.nan]]},
            r"^strike must be a finite number; first bad value strike\[1, 1\] = nan$",
        ),
        ({"t_years": [0.1, 0.0, -1.0]}, r"^t_years must be >= 0; first bad value t_years\[2\]"),
        ({"kind": "straddle"}, r"^kind must be 'call' or 'put' \(or 'c'/'p'\), got 'straddle'$"),
        ({"kind": ["c", "x"]}, r"got 'x' at kind\[1\]$"),
        ({"model": "heston"}, r"^model must be 'bs' or 'black76', got 'heston'$"),
        ({"settlement": "coin"}, r"^settlement must be 'linear' or 'inverse', got 'coin'$"),
        ({"model": "black76", "q": 0.01}, r"^q must be 0 for model='black76'.*got 0.01$"),
        ({"spot": "abc"}, r"^spot must be a number or an array of numbers, got 'abc'$"),
        ({"spot": [1.0, 2.0], "strike": [1.0, 2.0, 3.0]}, r"cannot be broadcast together"),
    ],
)
def test_validation_names_argument(kwargs, message):
    args = {"kind": "call", "spot": 100.0, "strike": 100.0, "t_years": 0.5, "vol": 0.5}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        greeks(**args)
    if "settlement" not in kwargs:
        with pytest.raises(ValueError, match=message):
            delta_gamma(**args)


BAD_KERNEL_INPUTS = [
    (-1.0, 100.0, 0.5, 0.5, 0.0, 0.0),
    (100.0, 0.0, 0.5, 0.5, 0.0, 0.0),
    (100.0, 100.0, -0.5, 0.5, 0.0, 0.0),
    (100.0, 100.0, 0.5, 0.0, 0.0, 0.0),  # vol == 0 with T > 0
    (100.0, 100.0, 0.0, -0.1, 0.0, 0.0),  # negative vol even at expiry
    (math.nan, 100.0, 0.5, 0.5, 0.0, 0.0),
    (100.0, math.nan, 0.5, 0.5, 0.0, 0.0),
    (100.0, 100.0, math.nan, 0.5, 0.0, 0.0),
    (100.0, 100.0, 0.5, math.nan, 0.0, 0.0),
    (100.0, 100.0, 0.0, math.nan, 0.0, 0.0),  # NaN vol at expiry
    (100.0, 100.0, 0.5, 0.5, math.nan, 0.0),
    (math.inf, 100.0, 0.5, 0.5, 0.0, 0.0),
]


@pytest.mark.parametrize("args", BAD_KERNEL_INPUTS)
@pytest.mark.parametrize("is_call", [True, False])
def test_kernels_return_nan(args, is_call):
    s, k, t, v, r, _q = args
    for model in (0, 1):
        assert all(math.isnan(x) for x in greeks_nb(model, is_call, *args))
        assert all(math.isnan(x) for x in delta_gamma_nb(model, is_call, *args))
        assert all(math.isnan(x) for x in inverse_greeks_nb(model, is_call, *args))
        assert math.isnan(price_nb(model, is_call, *args))
    assert all(math.isnan(x) for x in bs_greeks_nb(is_call, *args))
    assert all(math.isnan(x) for x in bs_delta_gamma_nb(is_call, *args))
    assert math.isnan(bs_price_nb(is_call, *args))
    assert all(math.isnan(x) for x in black76_greeks_nb(is_call, s, k, t, v, r))
    assert all(math.isnan(x) for x in black76_delta_gamma_nb(is_call, s, k, t, v, r))
    assert math.isnan(black76_price_nb(is_call, s, k, t, v, r))


def test_black76_kernel_ignores_q_and_unknown_model_is_nan():
    a = greeks_nb(1, True, 100.0, 100.0, 0.5, 0.5, 0.01, 0.07)
    b = black76_greeks_nb(True, 100.0, 100.0, 0.5, 0.5, 0.01)
    assert a == b
    assert all(math.isnan(x) for x in greeks_nb(2, True, 100.0, 100.0, 0.5, 0.5, 0.0, 0.0))
    assert math.isnan(price_nb(-1, True, 100.0, 100.0, 0.5, 0.5, 0.0, 0.0))


# --------------------------------------------------------------------------------------------
# Result object, scalars vs arrays
# --------------------------------------------------------------------------------------------


def test_greeks_object_attributes_and_keys():
    g = greeks("C", 100.0, 110.0, 0.5, 0.6, 0.05, 0.01)
    assert isinstance(g, Greeks)
    assert list(g) == list(NAMES) and len(g) == 7
    for name in NAMES:
        assert g[name] == getattr(g, name)
        assert type(g[name]) is float
    assert g.to_dict() == dict(g)
    assert g.price == pytest.approx(13.746834991044288, rel=1e-14)
    assert g.theta_per_day == g.theta / 365.0
    assert "delta_premium_adjusted" not in g
    with pytest.raises(KeyError):
        g["vanna"]
    inv = greeks("p", 100.0, 110.0, 0.5, 0.6, settlement="inverse")
    assert "delta_premium_adjusted" in inv and len(inv) == 8
    assert inv.settlement == "inverse" and inv.model == "bs"


def test_kind_aliases():
    ref = greeks("call", 100.0, 105.0, 0.2, 0.5)
    for k in ("c", "C", "Call", " CALL "):
        assert greeks(k, 100.0, 105.0, 0.2, 0.5).to_dict() == ref.to_dict()
    ref_p = greeks("put", 100.0, 105.0, 0.2, 0.5)
    for k in ("p", "P", "Put"):
        assert greeks(k, 100.0, 105.0, 0.2, 0.5).to_dict() == ref_p.to_dict()


@pytest.mark.parametrize("model", ["bs", "black76"])
def test_arrays_equal_scalars_exactly(model):
    rng = np.random.default_rng(7)
    n = 60
    spot = rng.uniform(50.0, 150.0, n)
    strike = rng.uniform(40.0, 160.0, (3, 1))
    t = np.array([0.0, 1 / 365, 0.5])[:, None]
    vol = 0.55
    r = rng.uniform(-0.01, 0.08, n)
    q = 0.0 if model == "black76" else 0.015
    kinds = np.where(rng.random(n) < 0.5, "call", "put")
    g = greeks(kinds, spot, strike, t, vol, r, q, model=model)
    d, gm = delta_gamma(kinds, spot, strike, t, vol, r, q, model=model)
    assert g.price.shape == (3, n)
    assert np.array_equal(d, g.delta) and np.array_equal(gm, g.gamma)
    m = 0 if model == "bs" else 1
    for i in range(3):
        for j in range(n):
            one = greeks(str(kinds[j]), spot[j], strike[i, 0], t[i, 0], vol, r[j], q, model=model)
            for name in NAMES:
                assert g[name][i, j] == one[name], (name, i, j)
            kern = greeks_nb(m, kinds[j] == "call", spot[j], strike[i, 0], t[i, 0], vol, r[j], q)
            assert kern[0] == one.price and kern[5] == one.rho


def test_scalar_types_and_zero_d_arrays():
    g = greeks("call", np.float64(100.0), 100, 1, np.array(0.5))
    assert all(type(v) is float for v in g.to_dict().values())
    a = greeks("call", [100.0], 100.0, 1.0, 0.5)
    assert isinstance(a.price, np.ndarray) and a.price.shape == (1,)
    assert a.price[0] == g.price
    d, gm = delta_gamma("put", 100.0, 100.0, 1.0, 0.5)
    assert type(d) is float and type(gm) is float
    assert d == greeks("put", 100.0, 100.0, 1.0, 0.5).delta
    e = greeks("call", np.empty(0), 100.0, 1.0, 0.5)
    assert e.price.shape == (0,)


def test_inverse_delta_gamma_api():
    d, gm = delta_gamma("call", 30000.0, 31000.0, 0.1, 0.6, settlement="inverse")
    g = greeks("call", 30000.0, 31000.0, 0.1, 0.6, settlement="inverse")
    assert (d, gm) == (g.delta, g.gamma)


def test_sum_greeks_straddle():
    c = greeks("call", 100.0, 100.0, 0.25, 0.5)
    p = greeks("put", 100.0, 100.0, 0.25, 0.5)
    s = sum_greeks([(1.0, c), (1.0, p)])
    assert s.price == c.price + p.price
    assert s.delta == pytest.approx(c.delta + p.delta, abs=0)
    assert s.gamma == 2 * c.gamma
    short = sum_greeks([(-2.0, c)])
    assert short.vega == -2 * c.vega and short.model == "bs"
    mixed = sum_greeks([(1.0, c), (1.0, greeks("call", 100.0, 100.0, 0.25, 0.5, model="black76"))])
    assert mixed.model == "mixed"
    with pytest.raises(ValueError, match="mix settlements"):
        sum_greeks([(1.0, c), (1.0, greeks("c", 100.0, 100.0, 0.25, 0.5, settlement="inverse"))])
    with pytest.raises(ValueError, match="at least one"):
        sum_greeks([])
    inv = greeks("c", 100.0, 100.0, 0.25, 0.5, settlement="inverse")
    assert sum_greeks([(3.0, inv)]).delta_premium_adjusted == 3.0 * inv.delta_premium_adjusted


# --------------------------------------------------------------------------------------------
# Kernels from inside other njit code, normal distribution accuracy
# --------------------------------------------------------------------------------------------


@njit
def _engine_like_loop(spots, strike, t, vol):
    n = spots.size
    out = np.empty((6, n))
    for i in range(n):
        d, g = bs_delta_gamma_nb(True, spots[i], strike, t, vol, 0.01, 0.0)
        d76, _ = black76_delta_gamma_nb(0, spots[i], strike, t, vol, 0.01)
        full = greeks_nb(1, 1, spots[i], strike, t, vol, 0.01, 0.0)
        v, code = implied_vol_nb(full[0], True, spots[i], strike, t, 0.01, 0.0, 1)
        out[0, i] = d
        out[1, i] = g
        out[2, i] = d76
        out[3, i] = full[0]
        out[4, i] = v
        out[5, i] = (
            code + norm_cdf_nb(0.0) + norm_pdf_nb(0.0) + price_nb(0, 1, 1.0, 2.0, 0, 1, 0, 0)
        )
    return out


def test_kernels_callable_from_njit():
    spots = np.array([80.0, 100.0, 125.0])
    out = _engine_like_loop(spots, 100.0, 0.25, 0.7)
    for i, s in enumerate(spots):
        assert out[0, i] == bs_delta_gamma_nb(True, s, 100.0, 0.25, 0.7, 0.01, 0.0)[0]
        assert out[1, i] == bs_delta_gamma_nb(True, s, 100.0, 0.25, 0.7, 0.01, 0.0)[1]
        assert out[2, i] == black76_delta_gamma_nb(False, s, 100.0, 0.25, 0.7, 0.01)[0]
        assert out[3, i] == black76_price_nb(True, s, 100.0, 0.25, 0.7, 0.01)
        assert out[4, i] == pytest.approx(0.7, rel=1e-12)
        assert out[5, i] == IV_OK + 0.5 + 1 / math.sqrt(2 * math.pi) + 0.0


def test_norm_cdf_tail_accuracy():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for x in (-38.0, -20.0, -8.5, -3.0, -0.5, 0.0, 0.7, 4.0):
        exact = float(mpmath.ncdf(x))
        assert norm_cdf_nb(x) == pytest.approx(exact, rel=1e-14), x
        assert norm_pdf_nb(x) == pytest.approx(float(mpmath.npdf(x)), rel=1e-14), x
    assert norm_cdf_nb(math.inf) == 1.0 and norm_cdf_nb(-math.inf) == 0.0
    assert math.isnan(norm_cdf_nb(math.nan))


def test_deep_otm_price_relative_accuracy():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    s, k, t, v, r = (mpmath.mpf(x) for x in ("100", "75", str(30 / 365), "0.2", "0.05"))
    sd = v * mpmath.sqrt(t)
    d1 = (mpmath.log(s / k) + (r + v * v / 2) * t) / sd
    exact = k * mpmath.exp(-r * t) * mpmath.ncdf(-(d1 - sd)) - s * mpmath.ncdf(-d1)
    ours = bs_price_nb(False, 100.0, 75.0, 30 / 365, 0.2, 0.05, 0.0)
    assert ours == pytest.approx(float(exact), rel=1e-11)  # ~1.6376e-07


def test_fast_cdf_matches_mpmath():
    """The kernels' table-based CDF: Mills ratio within 4 ulps; the small tail within
    4 eps (1 + x^2) relative (the x^2 term is the rounding of x*x inside exp, which erfc's
    argument suffers too); the large side within 2 eps absolute."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    eps = np.finfo(np.float64).eps
    xs = np.concatenate(
        [
            np.linspace(-37.5, 37.5, 1201),
            np.arange(-64, 65) * 0.25,  # piece boundaries
            np.arange(-64, 65) * 0.25 + 1e-9,
            [-16.0 - 1e-12, 15.999999999, 16.0],
        ]
    )
    for x in xs:
        z = mpmath.mpf(abs(float(x)))
        exact_small = float(mpmath.ncdf(-z))
        n, m, pdf = norm_cdf_pdf_nb(float(x))
        small, big = (n, m) if x < 0 else (m, n)
        assert abs(small / exact_small - 1) <= 4 * eps * (1 + x * x), x
        assert abs(big - (1 - exact_small)) <= 2 * eps, x
        assert pdf == pytest.approx(float(mpmath.npdf(z)), rel=4 * eps * (1 + x * x)), x
    for z in (0.0, 0.3, 3.9, 15.99, 16.0, 17.5, 25.0, 40.0, 1e3, 1e6):
        exact = float(mpmath.ncdf(-z) / mpmath.npdf(z))
        assert _mills_nb(z) == pytest.approx(exact, rel=4 * eps), z
    assert norm_cdf_pdf_nb(-math.inf) == (0.0, 1.0, 0.0)
    assert norm_cdf_pdf_nb(math.inf) == (1.0, 0.0, 0.0)
    assert all(math.isnan(v) for v in norm_cdf_pdf_nb(math.nan))
    assert norm_cdf_pdf_nb(-40.0)[0] == 0.0  # underflows cleanly, no NaN


def test_cdf_table_is_generated():
    """_ncdf_table.py is exactly what _ncdf_fit.py generates (no hand edits)."""
    pytest.importorskip("mpmath")
    import pathlib

    import gammaperp.pricing._ncdf_table as table
    from gammaperp.pricing._ncdf_fit import generate

    assert pathlib.Path(table.__file__).read_text() == generate()
    assert table.PIECES.shape == (64 * 11,)
