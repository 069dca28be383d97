"""Synthetic market generators: reproducibility, model statistics, bars, funding, IV, presets."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gammaperp.data.frames import REQUIRED_COLUMNS, Series
from gammaperp.data.synthetic import (
    PRESETS,
    REGIME_NAMES,
    SyntheticMarket,
    bridge_ohlc,
    funding_process,
    gbm_path,
    generate,
    get_preset,
    heston_path,
    iv_process,
    list_presets,
    merton_path,
    regime_switching_path,
    stationary_distribution,
    year_fraction,
)
from gammaperp.errors import ConfigError

MIN_DT = 60 / (365 * 86400)
HOUR_DT = 3600 / (365 * 86400)
HOURLY_YEAR = {"bars": 8760, "bar_seconds": 3600}
PRESET_NAMES = ("sideways-volatile", "bull-trend", "crash", "low-vol", "reference")


def _log_returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def _max_drawdown(close: np.ndarray) -> float:
    return float((1.0 - close / np.maximum.accumulate(close)).max())


def _regime_arrays(preset: str) -> dict:
    p = get_preset(preset).params
    return {
        "mu": [r.mu for r in p.regimes],
        "sigma": [r.sigma for r in p.regimes],
        "jump_intensity": [r.jump_intensity for r in p.regimes],
        "jump_mean": [r.jump_mean for r in p.regimes],
        "jump_std": [r.jump_std for r in p.regimes],
        "switch_per_day": p.switch_per_day,
    }


# --------------------------------------------------------------------------- reproducibility


def test_gbm_path_matches_reference_job_bit_for_bit():
    n, s0, sigma = 525_600, 30_000.0, 0.8
    dt = 1 / 525_600
    z = np.random.default_rng(7).standard_normal(n - 1)
    ref = np.empty(n)
    ref[0] = s0
    ref[1:] = s0 * np.exp(np.cumsum(sigma * np.sqrt(dt) * z - 0.5 * sigma**2 * dt))

    path = gbm_path(s0, sigma, n, dt, 7)
    assert path[0] == s0
    assert np.array_equal(path, ref)
    # year_fraction(60) is the same dt, and a Generator seed is used as is
    assert year_fraction(60) == dt
    assert np.array_equal(gbm_path(s0, sigma, n, dt, np.random.default_rng(7)), ref)
    # the "reference" preset's close is the same path (other streams don't touch it)
    m = generate("reference", seed=7)
    assert np.array_equal(m.ohlcv.frame["close"].to_numpy(), ref)
    assert (m.iv.frame["iv"] == 0.6).all()
    assert (m.funding.frame["rate"] == 1e-4).all()
    assert np.array_equal(m.ohlcv.frame["index"].to_numpy(), ref)


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_same_seed_bit_identical_different_seed_differs(preset):
    a = generate(preset, seed=11, bars=5_000)
    b = generate(preset, seed=11, bars=5_000)
    c = generate(preset, seed=12, bars=5_000)
    for x, y in ((a.ohlcv, b.ohlcv), (a.funding, b.funding), (a.iv, b.iv)):
        pd.testing.assert_frame_equal(x.frame, y.frame, check_exact=True)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert not np.array_equal(a.ohlcv.frame["close"], c.ohlcv.frame["close"])
    assert not np.array_equal(a.ohlcv.frame["volume"], c.ohlcv.frame["volume"])


def test_low_level_functions_reproducible():
    regime = _regime_arrays("sideways-volatile")
    calls = {
        "gbm": lambda s: gbm_path(100.0, 0.5, 1000, HOUR_DT, s),
        "merton": lambda s: merton_path(
            100.0, 0.5, 1000, HOUR_DT, s, jump_intensity=50, jump_mean=-0.02, jump_std=0.03
        ),
        "heston": lambda s: np.concatenate(
            heston_path(100.0, 1000, HOUR_DT, s, kappa=3, theta=0.2, xi=0.6, rho=-0.5)
        ),
        "regime": lambda s: np.concatenate(
            [a.astype(float) for a in regime_switching_path(100.0, 1000, HOUR_DT, s, **regime)]
        ),
        "funding": lambda s: funding_process(np.linspace(-0.05, 0.05, 200), s),
        "iv": lambda s: iv_process(np.full(300, 0.6), np.zeros(300), HOUR_DT, s),
    }
    for name, f in calls.items():
        assert np.array_equal(f(3), f(3)), name
        assert not np.array_equal(f(3), f(4)), name


def test_components_use_independent_streams():
    base = generate("sideways-volatile", bars=3_000)
    other = generate("sideways-volatile", bars=3_000, funding_vol=0.001, iv_vrp=0.3)
    assert np.array_equal(base.ohlcv.frame["close"], other.ohlcv.frame["close"])
    assert np.array_equal(base.ohlcv.frame["high"], other.ohlcv.frame["high"])
    assert not np.array_equal(base.funding.frame["rate"], other.funding.frame["rate"])
    # every model consumes the same first n-1 normals: with sigma-only dynamics GBM == Merton
    g = generate("sideways-volatile", model="gbm", sigma=0.5, mu=0.1, bars=3_000, seed=5)
    j = generate("sideways-volatile", model="merton", sigma=0.5, mu=0.1, bars=3_000, seed=5)
    assert np.array_equal(g.ohlcv.frame["close"], j.ohlcv.frame["close"])


# --------------------------------------------------------------------------- price models


def test_gbm_log_return_moments_within_5_sigma():
    n, sigma, mu = 400_001, 0.7, 0.4
    r = _log_returns(gbm_path(1.0, sigma, n, HOUR_DT, 123, mu=mu))
    m = n - 1
    exp_mean = (mu - 0.5 * sigma**2) * HOUR_DT
    exp_var = sigma**2 * HOUR_DT
    assert abs(r.mean() - exp_mean) < 5 * math.sqrt(exp_var / m)
    assert abs(r.var() - exp_var) < 5 * exp_var * math.sqrt(2 / m)


def test_merton_jump_frequency_size_and_compensated_mean():
    n, lam, jm, js, sigma, mu = 500_001, 80.0, -0.03, 0.02, 0.5, 0.3
    res = merton_path(
        1.0,
        sigma,
        n,
        HOUR_DT,
        99,
        mu=mu,
        jump_intensity=lam,
        jump_mean=jm,
        jump_std=js,
        return_jumps=True,
    )
    expected_jumps = lam * (n - 1) * HOUR_DT
    assert abs(res.jump_counts.sum() - expected_jumps) < 5 * math.sqrt(expected_jumps)
    single = res.jump_log_sizes[res.jump_counts == 1]
    assert single.size > 1000
    assert abs(single.mean() - jm) < 5 * js / math.sqrt(single.size)
    assert (res.jump_log_sizes[res.jump_counts == 0] == 0).all()
    # compensator: E[S_{t+dt} / S_t] = exp(mu dt) exactly, per step
    gross = np.exp(_log_returns(res.price))
    se = gross.std() / math.sqrt(gross.size)
    assert abs(gross.mean() - math.exp(mu * HOUR_DT)) < 5 * se
    # without jumps, Merton is GBM bit for bit
    no_jumps = merton_path(
        1.0, sigma, 5000, HOUR_DT, 1, mu, jump_intensity=0, jump_mean=jm, jump_std=js
    )
    assert np.array_equal(no_jumps, gbm_path(1.0, sigma, 5000, HOUR_DT, 1, mu))


def test_heston_variance_mean_reverts_to_theta():
    theta, kappa, xi = 0.09, 4.0, 0.5
    n = 50 * 8760
    price, var = heston_path(
        30_000.0, n, HOUR_DT, 2024, kappa=kappa, theta=theta, xi=xi, rho=-0.5, v0=4 * theta
    )
    assert price[0] == 30_000.0 and np.isfinite(price).all() and (price > 0).all()
    assert (var >= 0).all() and var[0] == 4 * theta
    assert var[: 24 * 14].mean() > 2.5 * theta  # starts far above theta...
    tail = var[2 * 8760 :]  # ...and reverts: long-run time average ~ theta
    # stationary sd = sqrt(theta xi^2 / (2 kappa)); ~ (48 yr * kappa / 2) independent samples
    se = math.sqrt(theta * xi**2 / (2 * kappa)) / math.sqrt(48 * kappa / 2)
    assert abs(tail.mean() - theta) < 5 * se
    # expected decay: E[v_t] = theta + (v0 - theta) e^{-kappa t}; at t = 0.25 yr across the
    # path's first quarter the mean lies between theta and v0
    assert theta < var[: 8760 // 4].mean() < 4 * theta


def test_heston_feller_violation_is_allowed():
    price, var = heston_path(1.0, 20_000, HOUR_DT, 1, kappa=1.0, theta=0.04, xi=2.0, rho=-0.9)
    assert 2 * 1.0 * 0.04 < 2.0**2
    assert (var >= 0).all() and (var == 0).any() and np.isfinite(price).all()
    m = generate("low-vol", heston_xi=2.0, bars=5_000)
    assert m.ohlcv.frame["close"].gt(0).all()


def test_regime_switching_visits_all_regimes_with_stationary_shares():
    args = _regime_arrays("sideways-volatile")
    n = 40 * 8760
    price, regime = regime_switching_path(30_000.0, n, HOUR_DT, 5, **args)
    assert regime.dtype == np.int8 and regime[0] == 0
    assert set(np.unique(regime)) == {0, 1, 2, 3}
    share = np.bincount(regime, minlength=4) / n
    pi = np.array(list(stationary_distribution("sideways-volatile").values()))
    assert pi.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(share, pi, atol=0.03)
    # more than a handful of separate visits to each regime
    starts = np.flatnonzero(np.diff(regime) != 0) + 1
    visits = np.bincount(regime[starts], minlength=4)
    assert (visits >= 10).all(), visits
    assert np.isfinite(price).all() and (price > 0).all()


def test_regime_series_labels():
    m = generate("sideways-volatile", bars=50_000)
    assert m.regime is not None
    assert list(m.regime.cat.categories) == list(REGIME_NAMES)
    assert m.regime.index.equals(m.ohlcv.frame.index)
    assert m.regime.iloc[0] == "calm"
    assert generate("low-vol", bars=100).regime is None
    assert generate("bull-trend", bars=100).regime.iloc[0] == "trending"


# --------------------------------------------------------------------------- bars


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_ohlcv_series_consistent(preset):
    m = generate(preset, seed=3, bars=30_000, start="2024-03-01")
    s = m.ohlcv
    assert isinstance(s, Series)
    assert (s.kind, s.venue, s.symbol, s.market) == ("ohlcv", "synthetic", "BTCUSDT", "perp")
    assert s.meta["bar_seconds"] == 60
    f = s.frame
    assert set(REQUIRED_COLUMNS["ohlcv"]) | {"mark", "index"} == set(f.columns)
    assert all(f[c].dtype == np.float64 for c in f.columns)
    assert np.isfinite(f.to_numpy()).all()
    idx = f.index
    assert isinstance(idx, pd.DatetimeIndex) and idx.name == "ts" and str(idx.tz) == "UTC"
    assert idx[0] == pd.Timestamp("2024-03-01", tz="UTC")
    assert (np.diff(idx.asi8) == 60 * 10**9).all()
    o, h, lo, c = (f[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert (lo <= np.minimum(o, c)).all() and (np.maximum(o, c) <= h).all()
    assert (lo > 0).all()
    assert (h > np.maximum(o, c)).mean() > 0.9  # a real intrabar range, not a degenerate one
    assert o[0] == c[0] == 30_000.0 and np.array_equal(o[1:], c[:-1])
    assert np.array_equal(f["mark"], f["close"])
    assert (f["volume"] > 0).all()
    basis = 1 - f["index"] / f["close"]
    assert basis.abs().max() < 0.01
    if preset != "reference":
        assert basis.std() > 0


def test_volume_grows_with_absolute_return():
    f = generate("sideways-volatile", bars=100_000).ohlcv.frame
    absret = np.abs(np.log(f["close"] / f["open"]))
    big = absret > absret.quantile(0.9)
    assert f["volume"][big].mean() > 1.5 * f["volume"][~big].mean()
    # volume_per_minute is the mean volume of a zero-return bar (lognormal factor has mean 1)
    quiet = absret < absret.quantile(0.1)
    assert 120 < f["volume"][quiet].mean() < 140


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1e-3, 1e6), min_size=2, max_size=40),
    st.floats(0.0, 5.0),
    st.integers(0, 2**32),
)
def test_bridge_ohlc_bounds_property(prices, sigma, seed):
    close = np.array(prices)
    o, h, lo, c = bridge_ohlc(close, sigma, MIN_DT, seed)
    assert np.array_equal(c, close) and np.array_equal(o[1:], close[:-1])
    assert (lo <= np.minimum(o, c)).all() and (np.maximum(o, c) <= h).all()
    assert (lo > 0).all() and np.isfinite(h).all()


# --------------------------------------------------------------------------- funding


def test_funding_timestamps_on_venue_schedule():
    m = generate("sideways-volatile", bars=10 * 1440, start="2024-01-01 05:17")
    f = m.funding.frame
    assert m.funding.kind == "funding" and m.funding.meta["interval_hours"] == 8
    assert list(f.columns) == ["rate", "mark"]
    ts = f.index
    assert ts.name == "ts" and str(ts.tz) == "UTC"
    assert ts[0] == pd.Timestamp("2024-01-01 08:00", tz="UTC")
    assert set(ts.hour) == {0, 8, 16} and (ts.minute == 0).all() and (ts.second == 0).all()
    assert (np.diff(ts.asi8) == 8 * 3600 * 10**9).all()
    assert ts[-1] < m.ohlcv.frame.index[-1] + pd.Timedelta(minutes=1)
    assert len(f) == 30
    # the mark is the price at the settlement instant: the open of the bar starting then
    assert np.array_equal(f["mark"], m.ohlcv.frame["open"].loc[ts])
    # settlements strictly after start; 4-hourly venues
    m4 = generate("sideways-volatile", bars=2 * 1440, funding_interval_hours=4)
    t4 = m4.funding.frame.index
    assert t4[0] == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    assert len(t4) == 11 and (np.diff(t4.asi8) == 4 * 3600 * 10**9).all()
    assert m4.funding.meta["interval_hours"] == 4


def test_funding_spikes_after_rallies_and_is_capped():
    m = generate("bull-trend", seed=4, **HOURLY_YEAR)
    f = m.funding.frame
    price = m.ohlcv.frame["open"].loc[f.index].to_numpy()
    trailing = np.log(price / np.concatenate([[m.ohlcv.frame["open"].iloc[0]], price[:-1]]))
    assert np.corrcoef(f["rate"], trailing)[0, 1] > 0.3
    rallies = trailing > np.quantile(trailing, 0.9)
    assert f["rate"][rallies].mean() > f["rate"][~rallies].mean() + 2e-4
    assert f["rate"].mean() > 0  # longs pay on average in a bull market

    capped = generate("crash", funding_rally_beta=2.0, funding_selloff_beta=2.0, **HOURLY_YEAR)
    r = capped.funding.frame["rate"]
    assert r.abs().max() == pytest.approx(0.0075) and (r.abs() == 0.0075).sum() > 3

    # low-level: a flat price gives an OU around the base rate with the stated std
    flat = funding_process(np.zeros(200_000), 1, vol=1e-4, halflife_hours=72.0)
    assert flat.mean() == pytest.approx(1e-4, abs=5e-6)
    assert flat.std() == pytest.approx(1e-4, rel=0.05)


# --------------------------------------------------------------------------- implied vol


def test_iv_series_grid_and_meta():
    m = generate("sideways-volatile", bars=3 * 1440 + 7, symbol="ETHUSDT")
    s = m.iv
    assert (s.kind, s.venue, s.symbol, s.market) == ("iv", "synthetic", "ETH", "index")
    assert s.meta["bar_seconds"] == 3600 and s.meta["underlying"] == "ETHUSDT"
    assert len(s) == 73 and (np.diff(s.frame.index.asi8) == 3600 * 10**9).all()
    assert s.frame.index.isin(m.ohlcv.frame.index).all()
    assert (s.frame["iv"] > 0.05).all() and (s.frame["iv"] < 5).all()
    daily = generate("low-vol", bars=400, bar_seconds=86400)
    assert len(daily.iv) == 400
    with pytest.raises(ConfigError, match="iv_bar_seconds"):
        generate("sideways-volatile", bars=100, bar_seconds=7)


@pytest.mark.parametrize("preset", ("sideways-volatile", "bull-trend", "crash", "low-vol"))
def test_iv_carries_a_premium_over_realised_vol(preset):
    ratio_var, iv_mean, rv = [], [], []
    for seed in range(6):
        m = generate(preset, seed=seed, **HOURLY_YEAR)
        realised_var = float((_log_returns(m.ohlcv.frame["close"].to_numpy()) ** 2).sum())
        iv = m.iv.frame["iv"].to_numpy()
        ratio_var.append(np.mean(iv**2) / realised_var)
        iv_mean.append(iv.mean())
        rv.append(math.sqrt(realised_var))
    assert np.mean(ratio_var) > 1.1  # implied variance > realised variance on average
    assert np.mean(iv_mean) > np.mean(rv)


def test_iv_is_negatively_correlated_with_returns():
    m = generate("sideways-volatile", model="gbm", sigma=0.6, seed=8, **HOURLY_YEAR)
    iv = m.iv.frame["iv"].to_numpy()
    r = _log_returns(m.ohlcv.frame["open"].loc[m.iv.frame.index].to_numpy())
    assert np.corrcoef(np.diff(np.log(iv)), r)[0, 1] < -0.3
    # constant-vol model: IV centres on (1 + vrp) * sigma
    assert iv.mean() == pytest.approx(0.66, rel=0.05)


def test_iv_spikes_in_crash_regime():
    m = generate("crash", seed=1, **HOURLY_YEAR)
    reg = m.regime.loc[m.iv.frame.index]
    iv = m.iv.frame["iv"]
    assert (reg == "crash").sum() > 24
    assert iv[reg == "crash"].mean() > 1.3 * iv[reg == "calm"].mean()


# --------------------------------------------------------------------------- presets


def test_presets_differ_in_the_intended_way():
    seeds = range(10)
    runs = {
        name: [generate(name, seed=s, **HOURLY_YEAR).ohlcv.frame["close"].to_numpy() for s in seeds]
        for name in ("sideways-volatile", "bull-trend", "crash", "low-vol")
    }
    dd = {k: [_max_drawdown(c) for c in v] for k, v in runs.items()}
    rv = {k: [_log_returns(c).std() * math.sqrt(8760) for c in v] for k, v in runs.items()}
    end = {k: np.mean([c[-1] / c[0] for c in v]) for k, v in runs.items()}
    # crash: a big drawdown on every seed, much deeper than sideways on average
    assert min(dd["crash"]) > 0.5
    assert np.mean(dd["crash"]) > np.mean(dd["sideways-volatile"]) + 0.15
    # low-vol: lower realised vol than sideways-volatile on every seed
    assert all(a < b for a, b in zip(rv["low-vol"], rv["sideways-volatile"], strict=True))
    assert 0.2 < np.mean(rv["low-vol"]) < 0.4 and 0.55 < np.mean(rv["sideways-volatile"]) < 0.8
    # bull-trend: ends higher on average across seeds, sideways roughly flat
    assert end["bull-trend"] > 1.5 and end["bull-trend"] > end["sideways-volatile"]
    assert 0.5 < end["sideways-volatile"] < 1.5
    assert np.mean([np.log(c[-1] / c[0]) for c in runs["bull-trend"]]) > 0.3


def test_list_presets_and_default_alias():
    presets = list_presets()
    assert set(presets) == {*PRESETS, "default"}
    assert {"sideways-volatile", "bull-trend", "crash", "low-vol"} <= set(presets)
    assert all(d and "\n" not in d for d in presets.values())
    assert "sideways-volatile" in presets["default"]
    a = generate("default", bars=1_000)
    b = generate("sideways-volatile", bars=1_000)
    assert a.fingerprint() == b.fingerprint()
    assert a.params["preset"] == "sideways-volatile"
    assert np.array_equal(a.ohlcv.frame["close"], b.ohlcv.frame["close"])
    for name in PRESETS:
        p = get_preset(name).params
        assert p.s0 == 30_000.0


def test_params_record_and_fingerprint():
    m = generate("crash", seed=9, bars=2_000, s0=2_000.0, symbol="ethusdt", iv_vrp=0.2)
    assert isinstance(m, SyntheticMarket)
    p = m.params
    json.dumps(p)  # JSON-able for the run's config record
    assert p["seed"] == 9 and p["preset"] == "crash" and p["s0"] == 2_000.0
    assert p["iv_vrp"] == 0.2 and p["symbol"] == "ETHUSDT" and p["bars"] == 2_000
    assert p["regimes"]["crash"]["mu"] < 0 and set(p["switch_per_day"]) == set(REGIME_NAMES)
    assert m.ohlcv.frame["open"].iloc[0] == 2_000.0 and m.ohlcv.symbol == "ETHUSDT"
    fp = m.fingerprint()
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert m.ohlcv.meta["fingerprint"] == fp == m.iv.meta["fingerprint"]
    same = generate("crash", seed=9, bars=2_000, s0=2_000.0, symbol="ETHUSDT", iv_vrp=0.2)
    assert same.fingerprint() == fp
    for kw in ({"seed": 10}, {"iv_vrp": 0.21}, {"bars": 2_001}, {"start": "2024-01-02"}):
        args = {"seed": 9, "bars": 2_000, "s0": 2_000.0, "iv_vrp": 0.2, **kw}
        assert generate("crash", **args).fingerprint() != fp, kw


def test_partial_regime_and_switch_overrides():
    m = generate(
        "sideways-volatile",
        bars=2_000,
        regimes={"crash": {"sigma": 2.0}},
        switch_per_day={"calm": {"crash": 0.2}},
    )
    p = m.params
    assert p["regimes"]["crash"]["sigma"] == 2.0
    assert p["regimes"]["crash"]["mu"] == get_preset("sideways-volatile").params.regimes[3].mu
    assert p["switch_per_day"]["calm"]["crash"] == 0.2
    assert p["switch_per_day"]["calm"]["choppy"] == 0.08


def test_inst_vol_is_the_model_vol():
    g = generate("reference", bars=500)
    assert (g.inst_vol == 0.8).all() and g.inst_vol.index.equals(g.ohlcv.frame.index)
    h = generate("low-vol", bars=500)
    assert h.inst_vol.iloc[0] == pytest.approx(0.3) and (h.inst_vol >= 0).all()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"preset": "moon"}, "'moon'.*sideways-volatile"),
        ({"sigmaa": 0.5}, "'sigmaa'.*valid parameters:.*sigma"),
        ({"sigma": -0.1}, "'sigma'"),
        ({"s0": 0.0}, "'s0'"),
        ({"s0": -5}, "'s0'"),
        ({"bars": 1}, "bars"),
        ({"bars": 10.5}, "bars"),
        ({"bar_seconds": 0}, "bar_seconds"),
        ({"seed": -1}, "seed"),
        ({"start": "not a date"}, "start"),
        ({"symbol": ""}, "symbol"),
        ({"model": "garch"}, "'model'.*heston"),
        ({"heston_rho": 1.5}, "heston_rho"),
        ({"heston_theta": -0.1}, "heston_theta"),
        ({"jump_std": -0.1}, "jump_std"),
        ({"funding_interval_hours": 5}, "funding_interval_hours"),
        ({"funding_cap": 0}, "funding_cap"),
        ({"iv_floor": 1.0, "iv_cap": 0.5}, "iv_cap"),
        ({"iv_return_corr": -2}, "iv_return_corr"),
        ({"initial_regime": "panic"}, "initial_regime.*calm"),
        ({"regimes": {"panic": {"sigma": 1}}}, "'panic'.*calm"),
        ({"regimes": {"crash": {"vol": 1}}}, "'vol'.*sigma"),
        ({"regimes": {"crash": {"sigma": -1}}}, "regimes.crash.sigma"),
        ({"switch_per_day": {"calm": {"choppy": 0.7, "crash": 0.5}}}, "switch_per_day"),
        ({"switch_per_day": {"calm": {"calm": 0.1}}}, "switch_per_day"),
        ({"sigma": "high"}, "'sigma'"),
        ({"sigma": float("nan")}, "'sigma'"),
    ],
)
def test_invalid_arguments_name_the_key(kwargs, needle):
    kwargs = {"bars": 100, **kwargs}
    preset = kwargs.pop("preset", "sideways-volatile")
    with pytest.raises(ValueError, match=needle) as info:
        generate(preset, **kwargs)
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: gbm_path(-1.0, 0.5, 10, MIN_DT, 1), "s0"),
        (lambda: gbm_path(1.0, -0.5, 10, MIN_DT, 1), "sigma"),
        (lambda: gbm_path(1.0, 0.5, 1, MIN_DT, 1), "n"),
        (lambda: gbm_path(1.0, 0.5, 10, 0.0, 1), "dt"),
        (lambda: gbm_path(1.0, 0.5, 10, MIN_DT, -3), "seed"),
        (
            lambda: merton_path(
                1.0, 0.5, 10, MIN_DT, 1, jump_intensity=-1, jump_mean=0, jump_std=0
            ),
            "jump_intensity",
        ),
        (lambda: heston_path(1.0, 10, MIN_DT, 1, kappa=0, theta=0.1, xi=0.1, rho=0), "kappa"),
        (lambda: heston_path(1.0, 10, MIN_DT, 1, kappa=1, theta=0.1, xi=0.1, rho=2), "rho"),
        (
            lambda: regime_switching_path(
                1.0, 10, MIN_DT, 1, **{**_regime_arrays("crash"), "sigma": [0.1, 0.2]}
            ),
            "sigma",
        ),
        (lambda: funding_process(np.zeros(3), 1, cap=0), "funding_cap"),
        (lambda: iv_process(np.zeros(3), np.zeros(3), HOUR_DT, 1), "expected_vol"),
    ],
)
def test_low_level_invalid_arguments(call, needle):
    with pytest.raises(ConfigError, match=needle):
        call()


# --------------------------------------------------------------------------- speed


def test_a_year_of_minute_bars_generates_in_well_under_a_second():
    generate("sideways-volatile", bars=1_000)  # JIT warm-up (cached on disk after first run)
    generate("low-vol", bars=1_000)
    for preset in ("sideways-volatile", "low-vol"):
        best = math.inf
        for _ in range(3):
            t = time.perf_counter()
            m = generate(preset, bars=525_600)
            best = min(best, time.perf_counter() - t)
        assert len(m.ohlcv) == 525_600 and len(m.funding) == 1094 and len(m.iv) == 8760
        assert best < 1.0, f"{preset}: {best:.3f}s"
