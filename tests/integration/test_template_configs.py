"""End to end through the engine: a straddle on a multi-series market (per-venue funding)."""

from __future__ import annotations

import numpy as np

import gammaperp


def test_venue_override_equal_to_the_market_gives_the_same_run():
    plain = gammaperp.run({"market": {"bars": 3000}})
    routed = gammaperp.run({"market": {"bars": 3000}, "venues": [{"funding_interval_hours": 8}]})
    assert routed.market.fingerprint() == plain.market.fingerprint()
    assert routed.summary == plain.summary
    assert plain.summary["n_hedges"] == 6


def test_straddle_hedged_on_a_venue_with_its_own_funding():
    cfg = {
        "market": {"bars": 3000, "funding_constant": 0.0001},
        "venues": [{"name": "binance"}, {"name": "bybit", "funding_constant": 0.0005}],
        "hedge": {"venue": "bybit"},
    }
    res = gammaperp.run(cfg)
    f = res.funding
    assert len(f) == 6 and set(f["venue"]) == {"bybit"} and set(f["rate"]) == {0.0005}
    np.testing.assert_allclose(f["payment"], -f["position"] * f["mark"] * f["rate"], rtol=1e-12)
    both = res.market
    assert [i.venue for i in both.instruments] == ["binance", "bybit"]
    assert sorted(set(both.funding_rate[both.funding_inst == 0])) == [0.0001]


# ---- every shipped example, end to end ---------------------------------------------------

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: example -> the blotter reasons its run must show (beyond what any run may show)
EXPECTED_REASONS = {
    "cash_and_carry_btc.toml": {"entry"},
    "funding_carry_binance_bybit.toml": {"entry"},
    "funding_carry_synthetic.toml": {"entry"},
    "long_gamma_btc_2021.toml": {"hedge"},
    "long_gamma_synthetic.toml": {"hedge"},
    "pair_eth_btc.toml": {"entry", "rebalance"},
    "pair_eth_btc_synthetic.toml": {"entry", "rebalance"},
    "risk_overlays.toml": {"hedge"},
    "scalp_btc.toml": {"scalp"},
    "short_gamma_eth.toml": {"hedge"},
    "short_straddle.yaml": {"hedge"},
    "strangle_delta25_budget.toml": {"hedge"},
}


def test_every_example_is_listed():
    shipped = {p.name for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".yaml")}
    assert shipped == set(EXPECTED_REASONS)


@pytest.mark.parametrize("name", sorted(EXPECTED_REASONS))
def test_example_runs_end_to_end(tmp_path, name):
    """Each example config runs through the engine into a complete run directory, its
    accounting identity holds, and its template traded the way it says it does."""
    res = gammaperp.run(EXAMPLES / name, out=tmp_path / "run", report=False)
    s = res.summary
    assert not s["failed"], s
    assert s["max_abs_residual"] < 1e-6
    assert s["n_trades"] > 0
    assert s["total_pnl"] == pytest.approx(s["equity_end"] - s["equity_start"], abs=1e-9)
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"summary.json", "equity.parquet", "config.json", "market.json"} <= files
    if res.full:  # output.record = "full": blotter and ledgers
        reasons = set(res.trades["reason"])
        assert EXPECTED_REASONS[name] <= reasons, reasons
        assert {"trades.parquet", "events.parquet"} <= files
    if name == "strangle_delta25_budget.toml":
        opened = res.rolls[res.rolls["event"] == "open"]
        assert (opened["strike"].nunique()) >= 2  # a strangle: two strikes per entry
