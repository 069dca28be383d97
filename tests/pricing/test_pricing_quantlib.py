"""Prices and every greek against QuantLib on the full grid.

Tolerance: relative 1e-7, with an absolute floor for values that are ~0 (deep out of the money,
1-day options whose tails underflow): 1e-12 * spot for price, vega, theta and rho, 1e-12 for
delta and 1e-12 / spot for gamma. The floor is far below anything a hedger can observe.
"""

from __future__ import annotations

import math

import pytest

from gammaperp.pricing import greeks, greeks_nb

from ._reference import GREEK_NAMES, case_id, describe, grid_cases, ql_black76, ql_bsm

RTOL = 1e-7
CASES = grid_cases()


def _floor(name, spot):
    if name == "delta":
        return 1e-12
    if name == "gamma":
        return 1e-12 / spot
    return 1e-12 * spot


def _reference(c):
    if c["model"] == "bs":
        return ql_bsm(c["kind"], c["spot"], c["strike"], c["days"], c["vol"], c["r"], c["q"])
    return ql_black76(c["kind"], c["spot"], c["strike"], c["t"], c["vol"], c["r"])


def test_grid_size():
    # 2 models x 2 kinds x 2 spots x 5 strikes x 3 vols x 3 expiries x 2 rates + 180 q=3% BS
    assert len(CASES) == 720 + 180


@pytest.mark.parametrize("c", CASES, ids=[case_id(c) for c in CASES])
def test_matches_quantlib(c):
    ref = _reference(c)
    g = greeks(
        c["kind"], c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"], model=c["model"]
    )
    failures = []
    for name in GREEK_NAMES:
        ours = g[name]
        theirs = ref[name]
        tol = max(RTOL * abs(theirs), _floor(name, c["spot"]))
        if not (math.isfinite(ours) and abs(ours - theirs) <= tol):
            failures.append(f"  {name}: ours={ours!r} quantlib={theirs!r} tol={tol:.3g}")
    assert g.theta_per_day == g.theta / 365.0
    assert not failures, "mismatch vs QuantLib for " + describe(c) + "\n" + "\n".join(failures)


@pytest.mark.parametrize("c", CASES[::37], ids=[case_id(c) for c in CASES[::37]])
def test_kernel_equals_api(c):
    """The engine's kernel entry point returns exactly what the API returns."""
    model = 0 if c["model"] == "bs" else 1
    k = greeks_nb(
        model, c["kind"] == "call", c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"]
    )
    g = greeks(
        c["kind"], c["spot"], c["strike"], c["t"], c["vol"], c["r"], c["q"], model=c["model"]
    )
    assert k == tuple(g[n] for n in GREEK_NAMES), describe(c)
