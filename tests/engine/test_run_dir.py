"""Run directories are written atomically and reproduce exactly."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from gammaperp.api import run
from gammaperp.errors import GammaperpError
from gammaperp.results.result import Result

CFG = {"name": "t", "market": {"bars": 3_000}, "seed": 11}


def test_run_dir_contents_and_reproducibility(tmp_path):
    a = run(CFG, out=tmp_path / "a")
    b = run(CFG, out=tmp_path / "b")
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [
        "assumptions.json",
        "config.json",
        "equity.parquet",
        "events.parquet",
        "funding.parquet",
        "liquidations.parquet",
        "market.json",
        "report.html",
        "rolls.parquet",
        "summary.json",
        "trades.parquet",
    ]
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert s == json.loads((tmp_path / "b" / "summary.json").read_text())
    assert s["total_pnl"] == pytest.approx(a.summary["total_pnl"], abs=0)
    eq = pd.read_parquet(tmp_path / "a" / "equity.parquet")
    pd.testing.assert_frame_equal(eq, pd.read_parquet(tmp_path / "b" / "equity.parquet"))
    assert str(eq.index.tz) == "UTC"
    m = json.loads((tmp_path / "a" / "market.json").read_text())
    assert len(m["fingerprint"]) == 64
    assert m["fingerprint"] == b.market.fingerprint()
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["seed"] == 11 and cfg["name"] == "t"
    # a different seed gives a different market and result
    c = run({**CFG, "seed": 12})
    assert c.market.fingerprint() != a.market.fingerprint()


def test_existing_dir_is_not_overwritten(tmp_path):
    run(CFG, out=tmp_path / "r")
    with pytest.raises(GammaperpError, match="already exists"):
        run(CFG, out=tmp_path / "r")


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    res = run(CFG)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(Result, "rolls", property(boom))
    with pytest.raises(OSError, match="disk full"):
        res.save(tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_summary_json_holds_every_metric(tmp_path):
    res = run(CFG, out=tmp_path / "m")
    s = json.loads((tmp_path / "m" / "summary.json").read_text())
    for key in (
        "total_pnl",
        "annualized_return",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "fees",
        "slippage",
        "funding",
        "n_hedges",
        "win_rate",
        "avg_pnl_per_hedge",
        "liquidations",
    ):
        assert key in s, key
    # the analytics agree with the engine's own totals
    m = res.metrics
    for key in ("total_pnl", "fees", "slippage", "funding", "n_hedges", "liquidations"):
        assert m[key] == pytest.approx(res.summary[key], abs=1e-9), key
    att = res.attribution
    assert att["total_pnl"].sum() == pytest.approx(res.summary["total_pnl"], abs=1e-6)


def test_plot_returns_report_figures():
    res = run(CFG)
    fig = res.plot()
    assert type(fig).__name__ == "Figure" and len(fig.data) >= 1
    assert len(res.plot("components").data) >= 4  # one trace per P&L component
    with pytest.raises(ValueError, match="chart must be one of"):
        res.plot("nope")
