"""The lean and the full kernel specialization, and the overlay windows computed a block ahead.

``run_config_nb(..., full=None)`` prunes the templates, overlays, caps, hedge bias and intrabar
detection; ``run_kernel`` must pick the full kernel whenever a configuration needs it, the
lean kernel must refuse such a configuration, and both must give the same ledger where both
apply.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gammaperp.engine import core, simulate
from gammaperp.engine import enums as E
from gammaperp.engine._risk_nb import (
    N_W,
    W_TREND,
    W_VOL,
    overlay_windows_nb,
    window_values_nb,
)
from gammaperp.engine.core import needs_full_kernel, strategy_params
from gammaperp.engine.specs import RiskSpec
from gammaperp.research.reference_job import reference_market, reference_spec

N = 4_000


@pytest.fixture(scope="module")
def market():
    return reference_market(N)


def _row(market, spec):
    return strategy_params(market, spec.venues, spec)


def test_plain_straddle_runs_lean(market):
    assert not needs_full_kernel(_row(market, reference_spec()))


@pytest.mark.parametrize(
    "change",
    [
        {"risk": RiskSpec(stop_loss_pct=0.5)},
        {"risk": RiskSpec(leg_stop_pct=0.5)},
        {"risk": RiskSpec(max_position=5.0)},
        {"risk": RiskSpec(max_notional=1e6)},
        {"risk": RiskSpec(hedge_bias=0.1)},
        {"risk": RiskSpec(loss_streak=3)},
        {"risk": RiskSpec(vol_short_bars=5, vol_long_bars=50, vol_k=3.0)},
        {"risk": RiskSpec(trend_fast_bars=5, trend_slow_bars=50, trend_threshold=0.01)},
    ],
)
def test_features_need_the_full_kernel(market, change):
    assert needs_full_kernel(_row(market, replace(reference_spec(), **change)))


def test_intrabar_and_templates_need_the_full_kernel(market):
    ref = reference_spec()
    ib = _row(market, ref)
    ib[E.P_INTRABAR] = 1.0
    assert needs_full_kernel(ib)
    row = np.zeros(E.N_PARAMS)
    row[E.P_STRATEGY] = E.STRAT_CARRY
    assert needs_full_kernel(row)
    # one row needing it is enough for the whole batch
    both = np.stack([_row(market, ref), row])
    assert needs_full_kernel(both)


def test_lean_kernel_refuses_a_configuration_that_needs_the_full_one(market, monkeypatch):
    spec = replace(reference_spec(), risk=RiskSpec(stop_loss_pct=0.5))
    monkeypatch.setattr(core, "needs_full_kernel", lambda params: False)
    with pytest.raises(ValueError, match="needs the full kernel"):
        simulate(market, spec, record="summary")


@pytest.mark.parametrize("record", ["full", "summary"])
def test_lean_and_full_kernels_give_the_same_ledger(market, monkeypatch, record):
    spec = reference_spec()
    lean = simulate(market, spec, record=record)
    monkeypatch.setattr(core, "needs_full_kernel", lambda params: True)
    full = simulate(market, spec, record=record)
    assert lean.summary["n_trades"] > 10
    for key in ("total_pnl", "n_trades", "fees", "funding", "option_pnl", "perp_pnl"):
        assert full.summary[key] == lean.summary[key], key
    np.testing.assert_array_equal(full.equity.to_numpy(), lean.equity.to_numpy())
    if record == "full":
        for a, b in zip(full.blotter, lean.blotter, strict=True):
            np.testing.assert_array_equal(a, b)


# ---- overlay windows a block ahead ---------------------------------------------------------


def _windows(close, splits, vol=(5, 40, 2.0), trend=(4, 30, 0.002)):
    """Run overlay_windows_nb over ``close`` in blocks of the given sizes."""
    n = close.shape[0]
    wbuf_all = np.empty((N_W, n))
    ring_v = np.zeros(vol[1])
    ring_t = np.zeros(trend[1])
    ws = np.zeros(8)
    t = 0
    c2 = close[None, :]
    for size in splits:
        size = min(size, n - t)
        if size <= 0:
            break
        buf = np.full((N_W, size), np.nan)  # sums are written only where a window is full
        overlay_windows_nb(buf, t, size, c2, 0, vol[2], vol[0], ring_v, trend[2], trend[0],
                           ring_t, ws)  # fmt: skip
        wbuf_all[:, t : t + size] = buf
        t += size
    return wbuf_all


def _path(n=500, seed=3):
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.002, n)
    r[250:300] *= 6.0  # a volatile stretch: the breaker switches on and off
    r[350:420] += 0.0015  # a trend
    return 100.0 * np.exp(np.cumsum(r))


def test_overlay_windows_do_not_depend_on_the_block_split():
    close = _path()
    one = _windows(close, [close.shape[0]])
    for splits in ([1] * close.shape[0], [7, 13, 256, 1000], [39, 40, 41, 1000]):
        np.testing.assert_array_equal(_windows(close, splits), one)  # NaN == NaN here


def test_overlay_windows_match_rolling_means():
    close = _path()
    n = close.shape[0]
    vs_n, vl_n, k = 5, 40, 2.0
    tf, ts_, thr = 4, 30, 0.002
    buf = _windows(close, [n], vol=(vs_n, vl_n, k), trend=(tf, ts_, thr))
    r2 = np.zeros(n)
    r2[1:] = np.log(close[1:] / close[:-1]) ** 2
    n_on = n_trend = 0
    for t in range(n):
        vs, vl, tr = window_values_nb(buf, t, vs_n, vl_n, tf, ts_)
        if t < vl_n:  # the long window holds returns from bar 1 on: full at bar vl_n
            assert buf[W_VOL, t] == -1.0 and math.isnan(vs)
        else:
            short = math.sqrt(r2[t - vs_n + 1 : t + 1].mean())
            long = math.sqrt(r2[t - vl_n + 1 : t + 1].mean())
            assert vs == pytest.approx(short, rel=1e-9)
            assert vl == pytest.approx(long, rel=1e-9)
            if abs(short / long - k) > 1e-6:
                assert buf[W_VOL, t] == (1.0 if short > k * long else 0.0)
            n_on += buf[W_VOL, t] == 1.0
        if t < ts_ - 1:
            assert buf[W_TREND, t] == -2.0 and math.isnan(tr)
        else:
            want = close[t - tf + 1 : t + 1].mean() / close[t - ts_ + 1 : t + 1].mean() - 1.0
            assert tr == pytest.approx(want, rel=1e-9, abs=1e-12)
            if abs(abs(want) - thr) > 1e-9:
                assert buf[W_TREND, t] == (1.0 if want > thr else -1.0 if want < -thr else 0.0)
            n_trend += buf[W_TREND, t] != 0.0
    assert 3 <= n_on < n - vl_n and 5 <= n_trend < n - ts_  # both states on the path


def test_window_off_gives_no_state():
    close = _path(100)
    buf = _windows(close, [100], vol=(5, 40, 0.0), trend=(4, 30, 0.0))
    assert (buf[W_VOL] == -1.0).all() and (buf[W_TREND] == -2.0).all()
