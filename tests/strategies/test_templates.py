"""Each position template on a path whose right answer is known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gammaperp.engine import simulate
from gammaperp.engine.specs import (
    CarrySpec,
    ExecutionSpec,
    PairSpec,
    RunSpec,
    ScalpSpec,
    StraddleSpec,
    VenueSpec,
)
from gammaperp.errors import EngineError
from gammaperp.pricing import greeks
from market_helpers import dip_path, multi_market

N8H = 480  # one-minute bars per 8 hours


def _two_venue_market(rate_a, rate_b, *, n_events=6, hours_b=8.0, px=40_000.0):
    n = N8H * n_events + 1
    close = np.full(n, px)
    step_b = int(hours_b * 60)
    fb_a = list(range(N8H, n, N8H))
    fb_b = list(range(step_b, n, step_b))
    ra = rate_a if callable(rate_a) else (lambda k: rate_a)
    rb = rate_b if callable(rate_b) else (lambda k: rate_b)
    return multi_market(
        [
            {"name": "BTCUSDT", "venue": "a", "close": close, "funding_bars": fb_a,
             "funding_rates": [ra(k) for k in range(len(fb_a))]},
            {"name": "BTCUSDT", "venue": "b", "close": close, "funding_bars": fb_b,
             "funding_rates": [rb(k) for k in range(len(fb_b))], "funding_hours": hours_b},
        ],
        n,
    )  # fmt: skip


VENUES_AB = (VenueSpec("a", capital=100_000.0), VenueSpec("b", capital=100_000.0))


def _carry(**kw):
    base = {
        "long_instrument": "BTCUSDT",
        "long_venue": "a",
        "short_instrument": "BTCUSDT",
        "short_venue": "b",
        "quantity": 1.0,
        "entry_apr": 0.05,
    }
    base.update(kw)
    return CarrySpec(**base)


def test_constant_spread_earns_spread_times_notional_times_periods_minus_fees():
    m = _two_venue_market(0.0001, 0.0003)
    res = simulate(m, RunSpec(venues=VENUES_AB, strategy=_carry()))
    tr = res.trades
    # both rates are first known at bar 480 (settled; nothing held yet): enter there
    assert list(tr["bar"]) == [480, 480]
    assert list(tr["reason"]) == ["entry", "entry"]
    assert list(tr["qty"]) == [1.0, -1.0]  # long the low-funding venue, short the high one
    periods = 5  # settlements at bars 960 ... 2880 while held
    fees = 2 * 0.0004 * 40_000.0
    expected = (0.0003 - 0.0001) * 40_000.0 * periods - fees
    assert res.summary["total_pnl"] == pytest.approx(expected, abs=1e-9)
    assert res.summary["funding"] == pytest.approx(8.0 * periods, abs=1e-9)
    f = res.funding
    assert len(f) == 10
    assert f["payment"].sum() == pytest.approx(40.0, abs=1e-9)


def test_rates_are_normalised_by_each_venue_interval():
    # a: 0.02 %/8h = 21.9 %/yr; b: 0.004 %/1h = 35.0 %/yr -> b is the expensive one, although
    # its per-event rate is 5x smaller: long a, short b
    m = _two_venue_market(0.0002, 0.00004, hours_b=1.0)
    res = simulate(m, RunSpec(venues=VENUES_AB, strategy=_carry()))
    tr = res.trades
    first = tr.iloc[:2]
    assert dict(zip(first["venue"], first["qty"], strict=True)) == {"a": 1.0, "b": -1.0}
    # b's first settlement is at bar 60 but a's rate is unknown until bar 480
    assert first["bar"].tolist() == [480, 480]


def test_rotation_when_the_spread_flips_beyond_the_threshold_pays_switching_cost():
    # a turns expensive from its 4th settlement (bar 1920): rotate there
    m = _two_venue_market(lambda k: 0.0001 if k < 3 else 0.0005, 0.0003)
    res = simulate(m, RunSpec(venues=VENUES_AB, strategy=_carry(exit_apr=0.1)))
    tr = res.trades
    assert tr["reason"].tolist() == ["entry", "entry", "rotate", "rotate"]
    assert tr["bar"].tolist() == [480, 480, 1920, 1920]
    assert tr["qty"].tolist() == [1.0, -1.0, -2.0, 2.0]
    # funding: +8 at bars 960 and 1440; at 1920 (still long a): a pays 20, b pays us 12 -> -8;
    # then short a / long b: +20 - 12 = +8 at 2400 and 2880
    assert res.summary["funding"] == pytest.approx(8 + 8 - 8 + 8 + 8, abs=1e-9)
    fees = 0.0004 * 40_000.0 * (2 + 4)
    assert res.summary["fees"] == pytest.approx(fees, abs=1e-9)


def test_exit_instead_of_flip():
    m = _two_venue_market(lambda k: 0.0001 if k < 3 else 0.0005, 0.0003)
    res = simulate(
        m, RunSpec(venues=VENUES_AB, strategy=_carry(on_adverse="exit", direction="long_short"))
    )
    assert res.trades["reason"].tolist() == ["entry", "entry", "exit", "exit"]
    assert res.trades["qty"].tolist() == [1.0, -1.0, -1.0, 1.0]


def test_cash_and_carry_spot_long_perp_short_exits_on_negative_funding():
    n = N8H * 6 + 1
    close = np.full(n, 30_000.0)
    fb = list(range(N8H, n, N8H))
    rates = [0.0002, 0.0002, -0.0001, 0.0001, 0.0001, 0.0001]
    m = multi_market(
        [
            {"name": "BTCUSDT", "venue": "a", "kind": "spot", "close": close},
            {"name": "BTCUSDT-PERP", "venue": "a", "close": close, "funding_bars": fb,
             "funding_rates": rates},
        ],
        n,
    )  # fmt: skip
    spec = CarrySpec(
        long_instrument="BTCUSDT",
        short_instrument="BTCUSDT-PERP",
        quantity=2.0,
        entry_apr=0.05,  # 0.01 %/8h = 10.95 %/yr is enough
        exit_apr=0.0,
        on_adverse="exit",
        direction="long_short",
    )
    res = simulate(m, RunSpec(venues=(VenueSpec("a"),), strategy=spec))
    tr = res.trades
    assert tr["reason"].tolist() == ["entry", "entry", "exit", "exit", "entry", "entry"]
    assert tr["bar"].tolist() == [480, 480, 1440, 1440, 1920, 1920]
    # held through bar 960 (+0.02 % x 60,000) and 1440 (paid -0.01 %), then 2400 and 2880
    recv = 60_000.0 * (0.0002 - 0.0001 + 0.0001 + 0.0001)
    assert res.summary["funding"] == pytest.approx(recv, abs=1e-9)
    assert res.summary["total_pnl"] == pytest.approx(recv - 6 * 0.0004 * 60_000.0, abs=1e-9)


def test_spot_leg_cannot_be_shorted():
    n = 10
    close = np.full(n, 100.0)
    m = multi_market(
        [
            {"name": "S", "venue": "a", "kind": "spot", "close": close},
            {"name": "P", "venue": "a", "close": close},
        ],
        n,
    )
    with pytest.raises(EngineError, match="spot"):
        simulate(m, RunSpec(venues=(VenueSpec("a"),), strategy=CarrySpec("S", "P")))
    with pytest.raises(EngineError, match="short_instrument"):
        simulate(
            m,
            RunSpec(
                venues=(VenueSpec("a"),),
                strategy=CarrySpec("P", "S", on_adverse="exit", direction="long_short"),
            ),
        )


def test_unknown_leg_names_the_key():
    m = _two_venue_market(0.0001, 0.0003, n_events=1)
    with pytest.raises(EngineError, match=r"strategy\.long_instrument"):
        simulate(m, RunSpec(venues=VENUES_AB, strategy=_carry(long_instrument="ETHUSDT")))


# ---- cross-asset pair ---------------------------------------------------------------------


def _pair_market(n=2_000, beta=2.0, seed=3):
    rng = np.random.default_rng(seed)
    lb = np.cumsum(rng.normal(0.0, 0.002, n))
    b = 30_000.0 * np.exp(lb)
    a = 2_000.0 * np.exp(beta * lb)  # log returns exactly beta x b's
    return (
        multi_market(
            [
                {"name": "ETHUSDT", "venue": "x", "close": a, "underlying": "ETH"},
                {"name": "BTCUSDT", "venue": "x", "close": b},
            ],
            n,
        ),
        a,
        b,
    )


def test_pair_holds_beta_times_notional_in_the_hedge_leg():
    m, a, b = _pair_market()
    spec = PairSpec(notional=10_000.0, window=20, return_bars=10, drift_tol=0.05)
    res = simulate(m, RunSpec(venues=(VenueSpec("x", capital=1e6),), strategy=spec))
    tr = res.trades
    # the 20th return is sampled at bar 200: beta is known (exactly 2) from there
    first = tr[tr["bar"] == 200]
    assert first["reason"].tolist() == ["entry", "entry"]
    qa = 10_000.0 / a[200]
    assert first["qty"].iloc[0] == pytest.approx(qa, rel=1e-12)
    assert first["qty"].iloc[1] == pytest.approx(-2.0 * qa * a[200] / b[200], rel=1e-9)
    # rebalances keep the hedge within 5 % of beta x notional, and only when it drifted
    held_a = qa
    held_b = first["qty"].iloc[1]
    for _, row in tr[tr["bar"] > 200].iterrows():
        t = int(row["bar"])
        assert row["instrument"] == "BTCUSDT" and row["reason"] == "rebalance"
        target = -2.0 * held_a * a[t] / b[t]
        assert abs(held_b - target) > 0.05 * abs(target) - 1e-12
        held_b += row["qty"]
        assert held_b == pytest.approx(target, rel=1e-9)
    assert len(tr) > 2


def test_pair_beta_is_estimated_from_returns():
    m, a, b = _pair_market(beta=0.7)
    spec = PairSpec(notional=5_000.0, window=30, return_bars=5, drift_tol=10.0)
    res = simulate(m, RunSpec(venues=(VenueSpec("x", capital=1e6),), strategy=spec))
    tr = res.trades
    assert tr["bar"].tolist() == [150, 150]
    qa = 5_000.0 / a[150]
    assert tr["qty"].iloc[1] == pytest.approx(-0.7 * qa * a[150] / b[150], rel=1e-9)


# ---- band scalping --------------------------------------------------------------------------


def _sine_market(n_cycles=6, period=100, amp=10.0, centre=100.0):
    n = period * (n_cycles + 1) + 1
    t = np.arange(n)
    close = centre + amp * np.sin(2.0 * math.pi * t / period)
    return multi_market([{"name": "P", "venue": "v", "close": close, "tick": 0.01}], n), close


def test_band_scalper_on_a_sine_earns_the_band_width_per_round_trip_minus_fees():
    m, _ = _sine_market()
    maker = 0.0002
    spec = ScalpSpec(instrument="P", quantity=1.0, max_inventory=1.0, centre_bars=100,
                     band_pct=0.05, order_type="limit")  # fmt: skip
    venue = VenueSpec("v", maker_fee=maker, capital=10_000.0)
    res = simulate(m, RunSpec(venues=(venue,), strategy=spec))
    tr = res.trades
    assert set(tr["reason"]) == {"scalp"}
    # every fill is at a band edge: 95 (buys) and 105 (sells), alternating
    assert set(np.round(tr.loc[tr["qty"] > 0, "price"], 12)) == {95.0}
    assert set(np.round(tr.loc[tr["qty"] < 0, "price"], 12)) == {105.0}
    assert (np.diff(np.sign(tr["qty"].to_numpy())) != 0).all()
    # the centre is known from bar 99 on (a full cycle): the price then rises through 105
    # first (sell), then falls through 95 (buy): one sell and one buy per cycle
    assert len(tr) == 12
    n_round_trips = 6
    fees = maker * (95.0 + 105.0) * n_round_trips
    inventory = tr["qty"].sum()
    assert inventory == 0.0
    assert res.summary["fees"] == pytest.approx(fees, abs=1e-9)
    assert res.summary["total_pnl"] == pytest.approx(10.0 * n_round_trips - fees, abs=1e-9)


def test_band_scalper_respects_its_inventory_limit():
    close = dip_path()
    m = multi_market([{"name": "P", "venue": "v", "close": close}], close.shape[0])
    spec = ScalpSpec(instrument="P", quantity=1.0, max_inventory=3.0, centre_bars=10,
                     band_pct=0.02, order_type="market")  # fmt: skip
    res = simulate(m, RunSpec(venues=(VenueSpec("v", capital=10_000.0),), strategy=spec))
    tr = res.trades
    # the centre is known from bar 9 (a dip, but the first full window): buys at bars 9, 19, 29
    assert tr["bar"].tolist() == [9, 19, 29]
    assert tr["qty"].tolist() == [1.0, 1.0, 1.0]
    assert (tr["price"] == 95.0).all()  # market orders at the close that crossed the bottom


def test_flat_price_long_straddle_loses_exactly_its_time_value_without_hedging():
    n = 1_441  # one day of minutes
    m = multi_market([{"name": "BTCUSDT", "venue": "binance", "close": np.full(n, 30_000.0)}],
                     n, iv=0.6)  # fmt: skip
    spec = StraddleSpec(instrument="BTCUSDT", expiry_days=1.0 / 1440.0 * 1440.0, band=0.05)
    res = simulate(m, RunSpec(strategy=spec))
    assert res.summary["n_hedges"] == 0  # ATM straddle delta stays ~0 inside the band
    premium = sum(
        float(greeks(kind, 30_000.0, 30_000.0, 1.0 / 365.0, 0.6).price) for kind in ("call", "put")
    )
    # expires at the strike at the last bar: worth 0, so the loss is the whole premium
    assert res.summary["total_pnl"] == pytest.approx(-premium, rel=1e-9)


def test_carry_runs_with_latency_and_every_identity_holds():
    m = _two_venue_market(0.0001, 0.0003)
    res = simulate(
        m,
        RunSpec(
            venues=VENUES_AB,
            strategy=_carry(),
            execution=ExecutionSpec(latency_ms=120_000.0),  # two bars
        ),
    )
    assert res.trades["bar"].tolist() == [482, 482]
    assert res.summary["max_abs_residual"] < 1e-9
