"""``gammaperp data import|list|show|resample|download|windows`` (store under tmp_path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt
import pytest

from cli_helpers import run_main as run
from gammaperp.data import download as download_mod

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
RECORDED = ROOT / "tests" / "data" / "recorded"
BTC_5M = "ohlcv_5m/binance_spot_BTCUSDT_5m_2019-11-15_2020-03-12.csv.gz"
DVOL = "iv/deribit_btc_dvol_daily_ohlc.csv.gz"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "gp-home"
    monkeypatch.setenv("GAMMAPERP_HOME", str(h))
    return h


class Replay:
    """A fake ccxt exchange answering the recorded requests only."""

    def __init__(self, name: str):
        rec = json.loads((RECORDED / name).read_text())
        self.id, self.rateLimit = rec["exchange"], rec["rateLimit"]
        self.timeframes, self._markets, self.calls = rec["timeframes"], rec["markets"], rec["calls"]
        self.markets: dict[str, Any] | None = None

    def load_markets(self, reload=False):
        self.markets = self._markets
        return self.markets

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
        args = {
            "symbol": symbol,
            "since": since,
            "limit": limit,
            "timeframe": timeframe,
            "params": params or {},
        }
        for c in self.calls:
            if c["args"] == args:
                return c["response"]
        raise AssertionError(f"unrecorded request {args}")


def test_empty_store_and_help(capsys, home):
    code, out, err = run(capsys, "data", "list")
    assert (code, err) == (0, "")
    assert out == "the store is empty: import files with `gammaperp data import PATH...`\n"
    code, out, _ = run(capsys, "data", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(capsys, "data", "--help")
    assert code == 0 and "download" in out and "windows" in out


@needs_shared
def test_import_list_show(capsys, home, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("this is not market data\n1,2,3\n")
    code, out, err = run(
        capsys, "data", "import", str(SHARED / BTC_5M), str(bad), str(SHARED / DVOL)
    )
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("error: bad.csv: ")
    assert lines[-1] == "1 of 3 file(s) failed"
    assert "binance:BTCUSDT:spot:ohlcv:5m" in out and "deribit:BTC:index:iv:1d" in out
    assert "33,959" in out and "1,840" in out

    code, out, err = run(capsys, "data", "list", "--json")
    assert (code, err) == (0, "")
    rows = {r["key"]: r for r in json.loads(out)}
    assert sorted(rows) == ["binance:BTCUSDT:spot:ohlcv:5m", "deribit:BTC:index:iv:1d"]
    btc = rows["binance:BTCUSDT:spot:ohlcv:5m"]
    assert (btc["rows"], btc["first"], btc["last"]) == (
        33959,
        "2019-11-15T12:25:00Z",
        "2020-03-12T21:10:00Z",
    )
    assert (btc["bar_seconds"], btc["interval"], btc["n_files"]) == (300, "5m", 2)
    assert btc["sources"] == str(SHARED / BTC_5M)
    assert rows["deribit:BTC:index:iv:1d"]["rows"] == 1840

    code, out, err = run(capsys, "data", "show", "BTCUSDT", "--head", "2", "--json")
    assert (code, err) == (0, "")
    shown = json.loads(out)
    assert shown["key"] == "binance:BTCUSDT:spot:ohlcv:5m"
    assert shown["head"][0] == {
        "ts": "2019-11-15T12:25:00Z",
        "open": 8653.12,
        "high": 8658.25,
        "low": 8643.1,
        "close": 8645.55,
        "volume": 129.784255,
    }
    assert shown["tail"][-1]["ts"] == "2020-03-12T21:10:00Z"
    assert shown["tail"][-1]["close"] == 5694.69

    code, out, err = run(capsys, "data", "show", "BTCUSDT", "--head", "1")
    assert code == 0
    assert out.splitlines()[:4] == [
        "key:       binance:BTCUSDT:spot:ohlcv:5m",
        "rows:      33,959",
        "span:      2019-11-15 12:25 → 2020-03-12 21:10 (UTC, bar open times)",
        "bar:       5m",
    ]
    assert "2019-11-15 12:25:00+00:00  8653.12" in out

    # importing the same file again adds nothing
    code, out, err = run(capsys, "data", "import", str(SHARED / BTC_5M), "--json")
    assert (code, err) == (0, "")
    again = json.loads(out)["imported"][0]
    assert (again["rows_in"], again["rows_new"], again["rows_total"]) == (33959, 0, 33959)


@needs_shared
def test_windows_and_resample(capsys, home):
    assert run(capsys, "data", "import", str(SHARED / BTC_5M))[0] == 0
    code, out, err = run(capsys, "data", "windows", "--name", "covid-crash-2020-03")
    assert (code, err) == (0, "")
    assert out.splitlines()[1:4] == [
        "  no 1-minute BTC bars cover 2020-03-01..2020-04-01",
        "  5-minute binance spot BTCUSDT bars cover 38.0 %: missing 2020-03-04 09:25 → 11:30, "
        "2020-03-12 21:15 → 2020-04-01",
        "  no 1-hour BTC bars cover 2020-03-01..2020-04-01",
    ]
    code, out, _ = run(capsys, "data", "windows", "--json")
    got = json.loads(out)
    assert [w["window"]["name"] for w in got][:2] == ["covid-crash-2020-03", "low-vol-2020-q3"]
    assert got[0]["best"]["key"] == "binance:BTCUSDT:spot:ohlcv:5m"
    assert got[1]["best"] is None

    code, out, err = run(capsys, "data", "resample", "BTCUSDT", "--to", "1h")
    assert (code, err) == (0, "")
    assert out == (
        "binance:BTCUSDT:spot:ohlcv:1h: 2,827 bars from 33,959 "
        "(2019-11-15 13:00 → 2020-03-12 20:00)\n"
    )
    code, out, err = run(capsys, "data", "show", "BTCUSDT")
    assert code == 2 and out == ""
    assert err.startswith("error: 2 stored ohlcv series match BTCUSDT: ")
    assert len(err.splitlines()) == 1


def test_user_errors_are_one_line(capsys, home):
    code, out, err = run(capsys, "data", "show", "ETHUSDT")
    assert (code, out) == (2, "")
    assert err == "error: no stored ohlcv series for ETHUSDT; stored for ETHUSDT: nothing\n"
    code, _, err = run(capsys, "data", "windows", "--name", "nope")
    assert code == 2 and err.startswith("error: unknown window 'nope'; valid windows: covid")
    code, _, err = run(capsys, "data", "import", str(home / "missing.csv"))
    assert code == 2 and err.splitlines()[0].startswith("error: missing.csv: ")


def test_download_with_recorded_exchange(capsys, home, monkeypatch):
    monkeypatch.setattr(
        download_mod, "make_exchange", lambda ex_id: Replay("binanceusdm_BTCUSDT_ohlcv_1m.json")
    )
    args = (
        "data",
        "download",
        "--exchange",
        "binanceusdm",
        "--symbol",
        "BTC/USDT:USDT",
        "--kind",
        "ohlcv",
        "--since",
        "2023-07-19",
        "--until",
        "2023-07-19 00:12",
        "--limit",
        "5",
        "--quiet",
    )
    code, out, err = run(capsys, *args)
    assert (code, err) == (0, "")
    assert out == "binance:BTCUSDT:perp:ohlcv:1m: 12 rows in 3 pages, 12 new\n"
    code, out, err = run(capsys, *args)
    assert out == (
        "binance:BTCUSDT:perp:ohlcv:1m: already stored 2023-07-19 00:00 .. 2023-07-19 00:12, "
        "nothing to fetch\n"
    )
    code, out, _ = run(capsys, "data", "list", "--json")
    (row,) = json.loads(out)
    assert (row["rows"], row["first"], row["last"]) == (
        12,
        "2023-07-19T00:00:00Z",
        "2023-07-19T00:11:00Z",
    )


def test_download_without_network_injected(capsys, home, monkeypatch):
    class Offline(Replay):
        def load_markets(self, reload=False):
            raise ccxt.NetworkError("binanceusdm GET https://fapi.binance.com/fapi/v1/exchangeInfo")

    monkeypatch.setattr(
        download_mod, "make_exchange", lambda ex_id: Offline("binanceusdm_BTCUSDT_ohlcv_1m.json")
    )
    code, out, err = run(
        capsys,
        "data",
        "download",
        "--exchange",
        "binanceusdm",
        "--symbol",
        "BTC/USDT:USDT",
        "--kind",
        "ohlcv",
        "--since",
        "2024-01-01",
        "--retries",
        "2",
        "--backoff",
        "0",
    )
    assert (code, out) == (2, "")
    assert err == (
        "error: cannot reach binanceusdm: network unavailable (NetworkError: binanceusdm GET "
        "https://fapi.binance.com/fapi/v1/exchangeInfo)\n"
    )


def test_download_without_network_real_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
        env[var] = "http://127.0.0.1:9"  # discard port: the connection is refused at once
    env["GAMMAPERP_HOME"] = str(tmp_path / "home")
    cmd = [
        sys.executable,
        "-c",
        "from gammaperp.cli import main; main()",
        "data",
        "download",
        "--exchange",
        "binanceusdm",
        "--symbol",
        "BTC/USDT:USDT",
        "--kind",
        "ohlcv",
        "--since",
        "2024-01-01",
        "--retries",
        "1",
        "--backoff",
        "0",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0] == (
        "error: cannot reach binanceusdm: network unavailable (NetworkError: binanceusdm GET "
        "https://fapi.binance.com/fapi/v1/exchangeInfo; cannot connect to the proxy)"
    )
    assert "Traceback" not in proc.stderr
