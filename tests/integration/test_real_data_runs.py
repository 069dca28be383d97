"""End to end on the real data in ../shared/data: files, the store and named windows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gammaperp
from gammaperp.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")

BTC_1M = [
    "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-02_2021-05-14.csv.gz",
    "ohlcv_1m/binance_spot_BTCUSDT_1m_2021-04-20_2021-05-20.csv.gz",
]
FUNDING = "funding/binance_BTCUSDT_perp_funding_2020-01-01_2023-12-31.csv.gz"
DVOL = "iv/deribit_btc_dvol_daily_ohlc.csv.gz"


def test_example_on_real_files_runs_with_dvol_and_funding():
    res = gammaperp.run(ROOT / "examples" / "long_gamma_btc_2021.toml")
    s = res.summary
    m = res.market
    assert m.n_bars > 40_000
    # DVOL is daily and known only after its day: bars before the first known value dropped
    assert m.meta.get("bars_dropped_before_first_iv", 0) >= 0
    assert 0.5 < float(m.iv[0].min()) and float(m.iv[0].max()) < 1.6  # DVOL in decimal
    assert res.funding.shape[0] > 80  # ~3 settlements a day for a month
    assert s["max_abs_residual"] < 1e-6
    assert s["n_hedges"] > 100
    # the 19 May 2021 crash made the long straddle pay: option P&L strongly positive
    assert s["option_pnl"] > 2_000


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("gph")
    files = [str(SHARED / f) for f in [*BTC_1M, FUNDING, DVOL]]
    env = {"GAMMAPERP_HOME": str(h)}
    import os

    out = subprocess.run(
        [sys.executable, "-m", "gammaperp", "data", "import", *files],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return h


def test_window_run_from_store(home, monkeypatch, tmp_path):
    monkeypatch.setenv("GAMMAPERP_HOME", str(home))
    cfg = {"market": {"source": "store", "window": "chop-2021-04-06", "gap_policy": "ffill"}}
    res = gammaperp.run(cfg, out=tmp_path / "run")
    m = res.market
    assert m.meta["window"] == "chop-2021-04-06"
    assert "46.1 %" in m.meta["coverage"]  # what is missing is said
    assert str(res.equity.index[0]) >= "2021-04-15"
    assert json.loads((tmp_path / "run" / "market.json").read_text())["window"] == "chop-2021-04-06"


def test_window_gap_policy_fail_names_the_gap(home, monkeypatch):
    monkeypatch.setenv("GAMMAPERP_HOME", str(home))
    with pytest.raises(DataError, match="gap of 150 missing 1min interval"):
        gammaperp.run({"market": {"source": "store", "window": "chop-2021-04-06"}})


def test_window_with_nothing_stored_says_what_is_missing(home, monkeypatch):
    monkeypatch.setenv("GAMMAPERP_HOME", str(home))
    with pytest.raises(DataError, match=r"no stored BTCUSDT bars cover it.*no 1-minute BTC bars"):
        gammaperp.run({"market": {"source": "store", "window": "luna-2022-05"}})


def test_window_on_synthetic_is_a_config_error():
    with pytest.raises(ConfigError, match="window"):
        gammaperp.run({"market": {"window": "luna-2022-05"}})


def test_real_data_report_is_written_with_every_section(tmp_path):
    from gammaperp.report import SECTION_TITLES

    gammaperp.run(ROOT / "examples" / "long_gamma_btc_2021.toml", out=tmp_path / "btc")
    html = (tmp_path / "btc" / "report.html").read_text(encoding="utf-8")
    import html as _html

    for title in SECTION_TITLES:
        assert _html.escape(title) in html, title
    assert "deribit_btc_dvol_daily_ohlc" in html  # the IV source is named in the report
    assert "Not available" not in html  # every section rendered on real data
