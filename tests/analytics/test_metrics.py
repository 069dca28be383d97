"""Each metric function on tiny hand-computed inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gammaperp.analytics import metrics as M

SQRT365 = math.sqrt(365.0)  # 19.1049731745428


def _ts(*stamps: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(s, tz="UTC") for s in stamps])


def test_daily_pnl_groups_by_the_day_the_bar_ends():
    # 00:00 Jan 1 ends Dec 31; 12:00 Jan 1 and 00:00 Jan 2 end Jan 1; Jan 2 is empty -> 0
    pnl = pd.Series(
        [1.0, 2.0, 3.0, 4.0],
        index=_ts("2024-01-01 00:00", "2024-01-01 12:00", "2024-01-02 00:00", "2024-01-03 06:00"),
    )
    d = M.daily_pnl(pnl)
    assert [x.strftime("%Y-%m-%d") for x in d.index] == [
        "2023-12-31",
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
    ]
    assert d.tolist() == [1.0, 5.0, 0.0, 4.0]


def test_monthly_table_and_sentence():
    # Jan: 10 + 5 (the bar closing at 00:00 Feb 1 ends in January) = 15; Feb: -3; Mar: none
    # -> 0; Apr: 7. Capital 100: returns 0.15, -0.03, 0, 0.07. Profitable: Jan and Apr.
    pnl = pd.Series(
        [10.0, 5.0, -3.0, 7.0],
        index=_ts("2024-01-15 10:00", "2024-02-01 00:00", "2024-02-10", "2024-04-02"),
    )
    t = M.monthly_table(pnl, 100.0)
    assert list(t.index) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert t["pnl"].tolist() == [15.0, -3.0, 0.0, 7.0]
    np.testing.assert_allclose(t["return"], [0.15, -0.03, 0.0, 0.07], rtol=0, atol=1e-15)
    assert t["profitable"].tolist() == [True, False, False, True]
    assert M.monthly_summary(t) == "profitable in 2 of 4 months"
    assert M.monthly_summary(t.iloc[:1]) == "profitable in 1 of 1 month"


def test_return_statistics_by_hand():
    r = [0.01, -0.02, 0.03, 0.0]
    # mean 0.005; deviations .005 -.025 .025 -.005; squares sum 1.3e-3; var (ddof 1) 4.3333e-4
    # std 0.0208166600; vol = std * sqrt(365) = 0.3977017308
    assert M.annualized_volatility(r) == pytest.approx(0.3977017307815829, rel=1e-12)
    # sharpe = 0.005 / 0.02081666 * 19.1049732 = 4.5888661244
    assert M.sharpe_ratio(r) == pytest.approx(4.588866124402879, rel=1e-12)
    # downside deviation: sqrt(mean([0, 4e-4, 0, 0])) = sqrt(1e-4) = 0.01
    # sortino = 0.005 / 0.01 * 19.1049732 = 9.5524865873
    assert M.sortino_ratio(r) == pytest.approx(0.5 * SQRT365, rel=1e-12)


def test_return_statistics_undefined_are_none():
    assert M.annualized_volatility([0.01]) is None
    assert M.sharpe_ratio([0.01]) is None
    assert M.sharpe_ratio([0.01, 0.01, 0.01]) is None  # no dispersion
    assert M.sortino_ratio([0.01, 0.02]) is None  # no losing day
    assert M.sortino_ratio([]) is None


def test_annualized_return_and_calmar():
    # 50 USD on 1,000 over half a year: 5 % / 0.5 = 10 % a year
    assert M.annualized_return(50.0, 1000.0, 0.5) == pytest.approx(0.1, abs=1e-15)
    assert M.annualized_return(50.0, 0.0, 0.5) is None
    # calmar: 30 USD over 0.5 years = 60 USD a year, max drawdown 20 USD -> 3
    assert M.calmar_ratio(30.0, 0.5, 20.0) == pytest.approx(3.0, abs=1e-15)
    assert M.calmar_ratio(30.0, 0.5, 0.0) is None


def test_drawdown_recovered():
    # equity 100 110 105 99 104 111 108 (one per day)
    # running max 100 110 110 110 110 111 111; drawdown 0 0 5 11 6 0 3
    eq = pd.Series(
        [100.0, 110, 105, 99, 104, 111, 108], index=pd.date_range("2024-01-01", periods=7, tz="UTC")
    )
    d = M.drawdown_stats(eq)
    assert d["max_drawdown"] == 11.0
    assert d["max_drawdown_pct"] == pytest.approx(0.1, abs=1e-15)  # 11 / 110
    assert d["peak"] == pd.Timestamp("2024-01-02", tz="UTC")
    assert d["trough"] == pd.Timestamp("2024-01-04", tz="UTC")
    assert d["recovery"] == pd.Timestamp("2024-01-06", tz="UTC")  # 111 >= 110
    assert d["recovered"] is True
    assert d["duration_days"] == 4.0


def test_drawdown_not_recovered_runs_to_the_end():
    eq = pd.Series([100.0, 90.0, 95.0], index=pd.date_range("2024-01-01", periods=3, tz="UTC"))
    d = M.drawdown_stats(eq)
    assert (d["max_drawdown"], d["max_drawdown_pct"]) == (10.0, 0.1)
    assert d["recovery"] is None and d["recovered"] is False
    assert d["duration_days"] == 2.0  # peak Jan 1 -> last point Jan 3


def test_drawdown_pct_can_come_from_another_episode():
    # 10 -> 5 is -5 USD but -50 %; 100 -> 90 is -10 USD but -10 %
    eq = pd.Series([10.0, 5.0, 100.0, 90.0], index=pd.date_range("2024-01-01", periods=4, tz="UTC"))
    d = M.drawdown_stats(eq)
    assert d["max_drawdown"] == 10.0
    assert d["max_drawdown_pct"] == 0.5
    assert d["peak"] == pd.Timestamp("2024-01-03", tz="UTC")
    assert d["duration_days"] == 1.0


def test_drawdown_starts_at_the_last_time_at_the_peak():
    # 110 is held on days 2 and 3; the fall starts after day 3; recovery on day 5 (120)
    eq = pd.Series(
        [100.0, 110, 110, 100, 120], index=pd.date_range("2024-01-01", periods=5, tz="UTC")
    )
    d = M.drawdown_stats(eq)
    assert d["peak"] == pd.Timestamp("2024-01-03", tz="UTC")
    assert d["duration_days"] == 2.0


def test_drawdown_none_when_monotone():
    eq = pd.Series([1.0, 2.0, 3.0], index=pd.date_range("2024-01-01", periods=3, tz="UTC"))
    d = M.drawdown_stats(eq)
    assert (d["max_drawdown"], d["max_drawdown_pct"], d["duration_days"]) == (0.0, 0.0, 0.0)
    assert d["peak"] is None


def test_capital_at_risk_time_in_market_win_rate():
    # per step: 5+1, 7+0.5, 0+3 -> peak 7.5
    assert M.capital_at_risk([5.0, 7.0, 0.0], [1.0, 0.5, 3.0]) == 7.5
    # steps with option or perp open: 0 and 2 of 4
    assert M.time_in_market([1, 0, 0, 0], [0, 0, 1, 0]) == 0.5
    assert M.time_in_market([], []) is None
    # 1 and 2 win, -1 loses, 0 is not a win: 2 of 4
    assert M.win_rate([1.0, -1.0, 0.0, 2.0]) == 0.5
    assert M.win_rate([]) is None


def test_mark_to_next_pnl_linear_and_inverse():
    # buy 0.1 @ 100, next 110: 0.1 * 10 - fee 0.004 = 0.996
    # sell 0.2 @ 110, next 105: -0.2 * -5 - (0.0088 + 0.01) = 0.9812
    got = M.mark_to_next_pnl(
        [0.1, -0.2], [100.0, 110.0], [110.0, 105.0], [0.004, 0.0088], [0, 0.01]
    )
    np.testing.assert_allclose(got, [0.996, 0.9812], rtol=0, atol=1e-12)
    # inverse: 100 contracts of 10 USD bought @ 40,000, next 50,000:
    # 1,000 * (1/40,000 - 1/50,000) = 0.005 coin = 250 USD at 50,000; fee 1e-5 coin = 0.4 USD
    got = M.mark_to_next_pnl([100.0], [40_000.0], [50_000.0], [1e-5], [0.0], 10.0, True)
    np.testing.assert_allclose(got, [249.6], rtol=0, atol=1e-9)


def test_turnover_and_funding_split():
    # |0.1 * 100| + |-0.2 * 110| = 10 + 22 = 32 USD; inverse: 100 contracts x 10 USD = 1,000
    assert M.turnover([0.1, -0.2], [100.0, 110.0]) == pytest.approx(32.0, abs=1e-12)
    assert M.turnover([0.1, 100.0], [100.0, 40_000.0], [1.0, 10.0], [False, True]) == 1010.0
    # paid 1.25 + 0.5 = 1.75, received 0.5 + 0.25 = 0.75
    assert M.funding_split([0.5, -1.25, 0.25, -0.5]) == (1.75, 0.75)
    assert M.funding_split([]) == (0.0, 0.0)


def test_fifo_round_trips_by_hand():
    import pandas as pd

    from gammaperp.analytics import fifo_round_trips

    # buy 2 @100, sell 1 @110, sell 2 @90 (closes the last lot and opens a short), buy 1 @95;
    # fee 4 bps of notional, no slippage
    qty = [2.0, -1.0, -2.0, 1.0]
    price = [100.0, 110.0, 90.0, 95.0]
    f = pd.DataFrame(
        {
            "row": 0,
            "instrument": "PERP",
            "bar": [1, 3, 6, 8],
            "qty": qty,
            "price": price,
            "fee": [abs(q) * p * 0.0004 for q, p in zip(qty, price, strict=True)],
            "slippage": 0.0,
            "usd": 1.0,
            "cs": 1.0,
            "kind": "perp_linear",
            "reason": "hedge",
        }
    )
    rt = fifo_round_trips(f)
    # 1: 1 of the first lot, 100 -> 110: gross 10, costs 0.04 + 0.044
    # 2: the other 1, 100 -> 90: gross -10, costs 0.04 + 0.036
    # 3: the short 1 opened @90, closed @95: gross -5, costs 0.036 + 0.038
    assert rt[["open_bar", "close_bar"]].values.tolist() == [[1, 3], [1, 6], [6, 8]]
    np.testing.assert_allclose(rt["qty"], [1.0, 1.0, -1.0])
    np.testing.assert_allclose(rt["gross"], [10.0, -10.0, -5.0], atol=1e-12)
    np.testing.assert_allclose(rt["pnl"], [9.916, -10.076, -5.074], atol=1e-12)
    assert M.win_rate(rt["pnl"]) == pytest.approx(1 / 3)
    # lots opened by non-hedge fills are matched but not reported
    f2 = f.assign(reason=["user", "hedge", "hedge", "hedge"])
    assert fifo_round_trips(f2)[["open_bar", "close_bar"]].values.tolist() == [[6, 8]]
