"""Funding reconstruction from a premium index with the venue clamp formula."""

from __future__ import annotations

import numpy as np
import pytest

from gammaperp.errors import DataError
from gammaperp.market.funding import clamp_formula, funding_from_premium

H = 3_600 * 10**9


@pytest.mark.parametrize(
    ("premium", "expected"),
    [
        (0.0002, 0.0001),  # |I - P| = 0.0001 < 0.0005: rate = I
        (0.0001, 0.0001),
        (0.002, 0.0015),  # 0.002 + max(-0.0005, -0.0019)
        (-0.001, -0.0005),  # -0.001 + min(0.0005, 0.0011)
        (0.00055, 0.0001),  # 0.00055 + clip(-0.00045) = 0.0001
    ],
)
def test_clamp_formula(premium, expected):
    assert clamp_formula(premium, 0.0001) == pytest.approx(expected, abs=1e-15)


def test_binance_weighting_and_interval_alignment():
    # two samples in the first 8 h interval, one in the second
    ts = np.array([1 * H, 8 * H, 9 * H])  # the 08:00 sample closes the first interval
    prem = np.array([0.001, 0.002, -0.004])
    fts, rate = funding_from_premium(ts, prem)
    assert list(fts) == [8 * H, 16 * H]
    p1 = (1 * 0.001 + 2 * 0.002) / 3  # linearly increasing weights
    assert rate[0] == pytest.approx(p1 + max(-0.0005, 0.0001 - p1), abs=1e-15)
    assert rate[1] == pytest.approx(-0.004 + 0.0005, abs=1e-15)
    _, mean_rate = funding_from_premium(ts, prem, weighting="mean")
    assert mean_rate[0] == pytest.approx(0.0015 - 0.0005, abs=1e-15)


def test_four_hour_interval_scales_interest_and_cap():
    ts = np.array([1 * H, 2 * H])
    fts, rate = funding_from_premium(ts, np.array([0.0, 0.0]), interval_hours=4)
    assert list(fts) == [4 * H]
    assert rate[0] == pytest.approx(0.0003 * 4 / 24, abs=1e-15)  # 0.005 % per 4 h
    _, capped = funding_from_premium(ts, np.array([0.05, 0.05]), interval_hours=4, cap=0.0075)
    assert capped[0] == 0.0075


def test_bad_premium_input():
    with pytest.raises(DataError, match="row 1: timestamps"):
        funding_from_premium(np.array([2 * H, 1 * H]), np.array([0.0, 0.0]))
    with pytest.raises(DataError, match="row 0: non-finite"):
        funding_from_premium(np.array([1 * H]), np.array([np.nan]))
