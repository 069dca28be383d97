"""compute_metrics on engine results: a hand-checkable 10-bar ledger, a liquidation, the
synthetic reference run in full and summary recording, and a short-option book."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gammaperp.analytics import (
    capital_at_risk_frame,
    compute_metrics,
    hedge_trade_pnl,
    perp_positions,
)
from gammaperp.engine import RunSpec, VenueSpec, simulate
from gammaperp.engine.specs import ScriptedOrders

from .conftest import T0, make_market

CLOSE = [100.0, 101.0, 103.0, 102.0, 105.0, 104.0, 100.0, 98.0, 99.0, 100.0]
ORDERS = ScriptedOrders(bar=[1, 3, 6, 8], instrument=["PERP"] * 4, qty=[2.0, -1.0, -3.0, 2.0])
YEAR_S = 365 * 86_400

REQUIRED = (
    "total_pnl annualized_return sharpe sortino calmar max_drawdown max_drawdown_pct "
    "max_drawdown_duration_days fees slippage funding funding_paid funding_received n_hedges "
    "win_rate avg_pnl_per_hedge turnover liquidations time_in_market capital_at_risk "
    "profitable_months months"
).split()


@pytest.fixture(scope="module")
def ledger():
    # bars close at 00:01 .. 00:10 on 2024-01-01 (one UTC day); funding 0.1 % at bar 4
    m = make_market(CLOSE, start_ns=T0 + 60 * 10**9, funding_bars=(4,), funding_rates=(0.001,))
    spec = RunSpec(
        venues=(
            VenueSpec(name="venue", taker_fee=0.0004, maker_fee=0.0, capital=1000.0, tiers="flat"),
        ),
        strategy=None,
        orders=ORDERS,
    )
    return simulate(m, spec)


def test_ledger_positions_and_capital_at_risk(ledger):
    # fills: +2 @101 (bar 1), -1 @102 (bar 3), -3 @100 (bar 6), +2 @99 (bar 8)
    np.testing.assert_array_equal(perp_positions(ledger)[0], [0, 2, 2, 1, 1, 1, -2, -2, 0, 0])
    car = capital_at_risk_frame(ledger)
    # |pos| x close / leverage 10: 2*101/10, 2*103/10, 1*102/10, 105/10, 104/10, 2*100/10, ...
    np.testing.assert_allclose(
        car["perp_margin"], [0, 20.2, 20.6, 10.2, 10.5, 10.4, 20.0, 19.6, 0, 0], atol=1e-12
    )
    assert (car["option_capital"] == 0).all()


def test_ledger_metrics_by_hand(ledger):
    got = compute_metrics(ledger)
    assert set(REQUIRED) <= set(got)
    json.dumps(got, allow_nan=False)  # JSON-safe: no NaN anywhere
    # equity 1000 -> 1001.5742 (the engine's golden ledger)
    assert got["total_pnl"] == pytest.approx(1.5742, abs=1e-9)
    assert got["capital_at_risk"] == pytest.approx(20.6, abs=1e-12)  # peak, at bar 2
    assert got["capital_at_risk_basis"] == "peak_exposure"
    # 10 one-minute bars: 600 s = 600 / 31,536,000 years
    assert got["years"] == pytest.approx(600 / YEAR_S, rel=1e-15)
    # 1.5742 / 20.6 / (600 / 31,536,000) = 4,016.50 (a 10-minute run annualised)
    assert got["annualized_return"] == pytest.approx(4016.5025242718443, rel=1e-12)
    # one UTC day only: no daily dispersion
    assert got["volatility"] is None and got["sharpe"] is None and got["sortino"] is None
    # equity peak 1004.7734 (bar 4, 00:05) -> trough 999.6534 (bar 6): 5.12 USD, not
    # recovered by the last bar (00:10): 300 s = 1/288 day
    assert got["max_drawdown"] == pytest.approx(5.12, abs=1e-9)
    assert got["max_drawdown_pct"] == pytest.approx(5.12 / 1004.7734, rel=1e-9)
    assert got["max_drawdown_duration_days"] == pytest.approx(1 / 288, rel=1e-12)
    assert got["max_drawdown_peak"] == "2024-01-01T00:05:00+00:00"
    assert got["max_drawdown_recovered"] is False
    # calmar: (1.5742 / years) / 5.12
    assert got["calmar"] == pytest.approx(1.5742 * YEAR_S / 600 / 5.12, rel=1e-9)
    # fees 0.0808 + 0.0408 + 0.12 + 0.0792; funding: the 1 long pays 105 * 0.1 %
    assert got["fees"] == pytest.approx(0.3208, abs=1e-12)
    assert got["slippage"] == 0.0
    assert got["funding"] == pytest.approx(-0.105, abs=1e-12)
    assert got["funding_paid"] == pytest.approx(0.105, abs=1e-12)
    assert got["funding_received"] == 0.0
    # user orders are not hedges
    assert got["n_hedges"] == 0 and got["win_rate"] is None and got["avg_pnl_per_hedge"] is None
    # turnover 2*101 + 1*102 + 3*100 + 2*99 = 802 USD = 38.93 x capital at risk
    assert got["turnover"] == pytest.approx(802.0, abs=1e-9)
    assert got["turnover_multiple"] == pytest.approx(802.0 / 20.6, rel=1e-12)
    assert got["liquidations"] == 0
    assert got["time_in_market"] == pytest.approx(0.7, abs=1e-15)  # bars 1..7 of 10
    assert (got["months"], got["profitable_months"]) == (1, 1)
    assert got["monthly_summary"] == "profitable in 1 of 1 month"
    assert got["monthly"] == [
        {
            "month": "2024-01",
            "pnl": pytest.approx(1.5742, abs=1e-9),
            "return": pytest.approx(1.5742 / 20.6, rel=1e-9),
        }
    ]


def test_liquidation_is_counted():
    # long 19 @ 100 on 1,000 of capital (initial margin 190 at 10x); 45 wipes the account out
    m = make_market([100.0, 100.0, 45.0, 45.0])
    spec = RunSpec(
        venues=(VenueSpec(name="venue", taker_fee=0.0, capital=1000.0, tiers="flat"),),
        strategy=None,
        orders=ScriptedOrders(bar=[0], instrument=["PERP"], qty=[19.0]),
    )
    r = simulate(m, spec)
    got = compute_metrics(r)
    assert got["liquidations"] == 1
    # the position is open at bars 0 and 1 and closed by the liquidation at bar 2
    assert got["time_in_market"] == 0.5
    assert got["capital_at_risk"] == pytest.approx(19 * 100 / 10, abs=1e-12)


def test_no_position_falls_back_to_initial_capital():
    m = make_market([100.0, 101.0, 102.0])
    spec = RunSpec(venues=(VenueSpec(name="venue", capital=500.0),), strategy=None)
    got = compute_metrics(simulate(m, spec))
    assert got["capital_at_risk"] == 500.0
    assert got["capital_at_risk_basis"] == "initial_capital"
    assert got["total_pnl"] == 0.0 and got["time_in_market"] == 0.0
    assert got["notes"] == ["no position was ever held: returns are on the initial capital"]


def test_synthetic_reference_run(synthetic_full):
    got = compute_metrics(synthetic_full)
    json.dumps(got, allow_nan=False)
    assert got["total_pnl"] == pytest.approx(-120.63688358046056, rel=1e-9)
    assert got["n_hedges"] == 84 and got["n_trades"] == 84
    # 46 of the 77 FIFO round trips of hedge lots made money after fees
    assert got["n_round_trips"] == 77
    assert got["win_rate"] == pytest.approx(46 / 77, abs=1e-15)
    assert got["funding_paid"] - got["funding_received"] == pytest.approx(-got["funding"], abs=1e-9)
    assert got["hedge_fees"] == pytest.approx(got["fees"], abs=1e-9)  # no option fee
    assert got["time_in_market"] == 1.0
    assert got["months"] == 1 and got["profitable_months"] == 0
    # capital at risk: premium at risk plus perp margin, at its peak
    car = capital_at_risk_frame(synthetic_full)
    assert got["capital_at_risk"] == pytest.approx(float(car["capital_at_risk"].max()), rel=1e-15)
    eq = synthetic_full.equity
    row0 = car.iloc[0]
    # bar 0: straddle worth 4,906.848 plus 0.082 short BTC at 29,779.16 / 10
    assert row0["option_capital"] == pytest.approx(eq["option_value"].iloc[0], rel=1e-15)
    assert row0["perp_margin"] == pytest.approx(0.082 * 29779.160795 / 10, rel=1e-9)


def test_first_hedge_trade_marked_to_the_next(synthetic_full):
    h = hedge_trade_pnl(synthetic_full)
    assert len(h) == 84
    # sell 0.082 @ 29,779.160795 (bar 0), next hedge @ 29,374.765687 (bar 169), fee 0.976756:
    # -0.082 * (29,374.765687 - 29,779.160795) - 0.976756 = 32.183642
    first = h.iloc[0]
    assert first["next_price"] == pytest.approx(29374.765687, abs=1e-6)
    assert first["pnl"] == pytest.approx(
        -0.082 * (29374.765687 - 29779.160795) - 0.976756, abs=1e-5
    )
    # the last one is marked to the hedge perp's last close
    m = synthetic_full.market
    assert h["next_price"].iloc[-1] == m.close[0, -1]


def test_summary_record_falls_back(synthetic_full, synthetic_summary):
    full = compute_metrics(synthetic_full)
    got = compute_metrics(synthetic_summary)
    json.dumps(got, allow_nan=False)
    assert got["record"] == "summary"
    assert got["total_pnl"] == pytest.approx(full["total_pnl"], abs=1e-8)
    assert got["fees"] == pytest.approx(full["fees"], abs=1e-9)
    assert got["n_hedges"] == 84  # from the totals
    for key in ("win_rate", "avg_pnl_per_hedge", "turnover", "funding_paid", "funding_received"):
        assert got[key] is None, key
    assert len(got["notes"]) == 1 and "record='summary'" in got["notes"][0]
    # daily samples: the peak exposure can only be lower than with every bar
    assert 0 < got["capital_at_risk"] <= full["capital_at_risk"]


def test_short_options_carry_margin_not_premium(short_3day):
    car = capital_at_risk_frame(short_3day)
    eq = short_3day.equity
    rolls = short_3day.rolls
    s0 = rolls["underlying"].iloc[0]
    # bar 0: short 1 call + 1 put: 0.075 * 2 * S + the premium owed |option_value|
    expected = 0.075 * 2 * s0 + abs(eq["option_value"].iloc[0])
    assert car["option_capital"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert eq["option_value"].iloc[0] < 0
    got = compute_metrics(short_3day)
    assert got["capital_at_risk"] == pytest.approx(float(car["capital_at_risk"].max()), rel=1e-15)
    assert pd.Timestamp(got["max_drawdown_peak"]) <= pd.Timestamp(got["max_drawdown_trough"])


def test_coin_margined_venue_converts_coin_to_usd(coin_margined):
    got = compute_metrics(coin_margined)
    s = coin_margined.summary
    # fees and funding are paid in BTC; the engine's totals convert them at the index
    assert got["hedge_fees"] == pytest.approx(s["fees"], rel=1e-12)
    assert got["funding_paid"] - got["funding_received"] == pytest.approx(-s["funding"], rel=1e-12)
    # 68 hedges of 10-USD contracts: turnover is the USD contract value traded
    assert got["n_hedges"] == 68
    assert got["turnover"] == pytest.approx(99_870.0, abs=1e-6)
    car = capital_at_risk_frame(coin_margined)
    # bar 0: straddle value 4,906.85 USD and 245 contracts x 10 USD / leverage 10 = 245 USD
    assert car["perp_margin"].iloc[0] == pytest.approx(245.0, abs=1e-12)
    assert car["option_capital"].iloc[0] == pytest.approx(4906.848087, abs=1e-6)
