"""``gammaperp price`` / ``gammaperp iv`` and the CLI error boundary."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest

from cli_helpers import run_main as run
from gammaperp._version import __version__

CALL = 10.450583572185565  # BS call S=100 K=100 T=1 vol=0.2 r=0.05
PUT = 5.573526022256971
BASE = ["--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "365", "--rate", "0.05"]


def price_json(capsys, *args: str) -> dict:
    code, out, err = run(capsys, "price", *args, "--json")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    return json.loads(out)


def test_call_json_known_values(capsys):
    res = price_json(capsys, "call", *BASE)
    (leg,) = res["legs"]
    assert leg["leg"] == "call" and leg["strike"] == 100.0 and leg["quantity"] == 1.0
    assert leg["price"] == pytest.approx(CALL, abs=1e-9)
    assert leg["delta"] == pytest.approx(0.6368306511756191, abs=1e-9)
    assert leg["gamma"] == pytest.approx(0.018762017345846895, abs=1e-9)
    assert leg["vega"] == pytest.approx(37.52403469169379, abs=1e-9)
    assert leg["vega_per_vol_point"] == pytest.approx(0.3752403469169379, abs=1e-11)
    assert leg["theta_per_day"] == pytest.approx(-6.414027546438197 / 365, abs=1e-9)
    assert leg["rho"] == pytest.approx(53.232481545376345, abs=1e-9)
    assert res["total"]["price"] == pytest.approx(CALL, abs=1e-9)
    assert res["inputs"] == {
        "structure": "call",
        "spot": 100.0,
        "strike": 100.0,
        "strike2": None,
        "vol": 0.2,
        "days": 365.0,
        "t_years": 1.0,
        "rate": 0.05,
        "carry": 0.0,
        "model": "bs",
        "settlement": "linear",
        "quantity": 1.0,
    }
    assert res["units"]["price"] == "USD" and res["units"]["vega"] == "USD per 1.00 vol"


def test_put_json_known_value(capsys):
    res = price_json(capsys, "put", *BASE)
    assert res["legs"][0]["price"] == pytest.approx(PUT, abs=1e-9)
    assert res["legs"][0]["delta"] == pytest.approx(0.6368306511756191 - 1.0, abs=1e-9)


def test_table_shows_inputs_units_and_exact_numbers(capsys):
    code, out, err = run(capsys, "price", "call", *BASE)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "inputs: spot=100 strike=100 vol=0.2 (20%) days=365 T=1 years (days/365) rate=0.05 "
        "carry=0 model=bs settlement=linear quantity=1"
    )
    for header in ("(USD)", "(USD/1.00 vol)", "(USD/vol pt)", "(USD/day)", "(USD/1.00 rate)"):
        assert header in out
    call_row = next(line for line in lines if "│ call" in line)
    total_row = next(line for line in lines if "│ total" in line)
    cells = [c.strip() for c in call_row.strip("│ ").split("│")]
    assert cells == [
        "call",
        "100",
        "1",
        "10.450584",
        "0.63683065",
        "0.018762017",
        "37.524035",
        "0.37524035",
        "-0.017572678",
        "53.232482",
    ]
    assert [c.strip() for c in total_row.strip("│ ").split("│")][3:] == cells[3:]


def test_straddle_is_call_plus_put(capsys):
    res = price_json(capsys, "straddle", *BASE)
    call, put = res["legs"]
    assert (call["leg"], put["leg"]) == ("call", "put")
    assert res["total"]["price"] == pytest.approx(CALL + PUT, abs=1e-9)
    for greek in ("delta", "gamma", "vega", "theta_per_day", "rho"):
        assert res["total"][greek] == pytest.approx(call[greek] + put[greek], abs=1e-12)
    assert res["total"]["delta"] == pytest.approx(2 * 0.6368306511756191 - 1, abs=1e-9)
    assert res["total"]["gamma"] == pytest.approx(2 * 0.018762017345846895, abs=1e-9)
    code, out, _ = run(capsys, "price", "straddle", *BASE)
    assert code == 0 and "16.02411" in out


def test_strangle_legs_are_put_at_strike_and_call_at_strike2(capsys):
    args = ["--spot", "100", "--vol", "60%", "--days", "30"]
    res = price_json(capsys, "strangle", "--strike", "90", "--strike2", "110", *args)
    put, call = res["legs"]
    assert (put["leg"], put["strike"], call["leg"], call["strike"]) == ("put", 90.0, "call", 110.0)
    lone_put = price_json(capsys, "put", "--strike", "90", *args)["legs"][0]
    lone_call = price_json(capsys, "call", "--strike", "110", *args)["legs"][0]
    assert put["price"] == pytest.approx(lone_put["price"], abs=1e-12)
    assert call["price"] == pytest.approx(lone_call["price"], abs=1e-12)
    assert res["total"]["price"] == pytest.approx(lone_put["price"] + lone_call["price"], abs=1e-12)
    assert res["inputs"]["vol"] == 0.6 and res["inputs"]["strike2"] == 110.0


def test_inverse_is_usd_value_over_spot(capsys):
    args = ["--spot", "40000", "--strike", "42000", "--vol", "0.8", "--days", "45"]
    usd = price_json(capsys, "call", *args)["legs"][0]
    coin = price_json(capsys, "call", *args, "--inverse")["legs"][0]
    assert coin["price"] == pytest.approx(usd["price"] / 40000, rel=1e-12)
    assert coin["vega"] == pytest.approx(usd["vega"] / 40000, rel=1e-12)
    assert coin["delta_premium_adjusted"] == pytest.approx(usd["delta"] - coin["price"], abs=1e-12)
    code, out, _ = run(capsys, "price", "call", *args, "--inverse")
    assert code == 0 and "(coin)" in out and "settlement=inverse" in out


def test_quantity_scales_every_leg(capsys):
    one = price_json(capsys, "straddle", *BASE)
    short = price_json(capsys, "straddle", *BASE, "--quantity", "-2.5")
    assert short["total"]["price"] == pytest.approx(-2.5 * (CALL + PUT), abs=1e-9)
    assert short["total"]["gamma"] == pytest.approx(-2.5 * one["total"]["gamma"], abs=1e-12)


def test_vol_percent_equals_decimal_and_black76(capsys):
    a = price_json(capsys, "call", *BASE)
    b = price_json(capsys, "call", *[x if x != "0.2" else "20%" for x in BASE])
    assert a["legs"] == b["legs"]
    black = price_json(capsys, "call", *BASE, "--model", "black76")
    # Black-76 at the money, F = K = 100: exp(-rT) * F * (2 N(vol sqrt(T) / 2) - 1)
    expected = math.exp(-0.05) * 100 * math.erf(0.1 / math.sqrt(2))
    assert black["legs"][0]["price"] == pytest.approx(expected, abs=1e-9)
    assert black["legs"][0]["price"] == pytest.approx(7.57708214642728, abs=1e-9)
    assert black["inputs"]["model"] == "black76"


def test_iv_round_trip(capsys):
    code, out, err = run(
        capsys, "iv", "call", "--price", repr(CALL), "--spot", "100", "--strike", "100",
        "--days", "365", "--rate", "0.05", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    res = json.loads(out)
    assert res["vol"] == pytest.approx(0.2, abs=1e-9)
    assert res["vol_pct"] == pytest.approx(20.0, abs=1e-7)
    assert res["inputs"]["t_years"] == 1.0 and res["inputs"]["kind"] == "call"
    code, out, _ = run(
        capsys, "iv", "put", "--price", repr(PUT), "--spot", "100", "--strike", "100",
        "--days", "365", "--rate", "0.05",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[-1] == "implied vol: 20.0000% (0.2)"


def test_iv_inverse_round_trip(capsys):
    args = ["--spot", "30000", "--strike", "32000", "--days", "20"]
    coin = price_json(capsys, "put", *args, "--vol", "0.7", "--inverse")["legs"][0]["price"]
    code, out, _ = run(capsys, "iv", "put", "--price", repr(coin), *args, "--inverse", "--json")
    assert code == 0
    assert json.loads(out)["vol"] == pytest.approx(0.7, abs=1e-9)


def test_iv_failure_is_one_line_with_the_reason(capsys):
    code, out, err = run(
        capsys, "iv", "call", "--price", "0.5", "--spot", "100", "--strike", "50", "--days", "30"
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: no implied vol for call price 0.5 USD: price is at or below")
    assert err.rstrip().endswith("(bounds 50 .. 100 USD)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["price", "call", "--spot", "-1", "--strike", "100", "--vol", "0.2", "--days", "30"],
         "error: --spot must be > 0, got -1"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "nan", "--days", "30"],
         "error: --vol must be a finite number, got nan"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "60", "--days", "30"],
         "error: --vol is a decimal (0.6 = 60%); got 60: write 0.6 or 60%"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "abc", "--days", "30"],
         "error: --vol must be a number like 0.6 or 60%, got 'abc'"),
        (["price", "call", "--spot", "100", "--strike", "0", "--vol", "0.2", "--days", "30"],
         "error: --strike must be > 0, got 0"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "-1"],
         "error: --days must be >= 0, got -1"),
        (["price", "call", "--spot", "inf", "--strike", "100", "--vol", "0.2", "--days", "1"],
         "error: --spot must be a finite number, got inf"),
        (["price", "strangle", "--spot", "100", "--strike", "90", "--vol", "0.2", "--days", "30"],
         "error: strangle needs --strike2 (--strike is the put, --strike2 the call)"),
        (["price", "call", "--spot", "100", "--strike", "90", "--strike2", "95", "--vol", "0.2",
          "--days", "30"],
         "error: --strike2 is only used by strangle, not call"),
        (["price", "butterfly", "--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "3"],
         "error: unknown kind 'butterfly'; use one of: call, put, straddle, strangle"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "3",
          "--model", "heston"],
         "error: --model must be 'bs' or 'black76', got 'heston'"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "3",
          "--model", "black76", "--carry", "0.01"],
         "error: --carry must be 0 with --model black76 (the forward includes carry)"),
        (["price", "call", "--spot", "100", "--strike", "100", "--vol", "0.2", "--days", "3",
          "--quantity", "0"],
         "error: --quantity must not be 0"),
        (["price", "call", "--spot", "x", "--strike", "100", "--vol", "0.2", "--days", "3"],
         "error: Invalid value for '--spot': Input should be a valid number, unable to parse "
         "string as a number"),
        (["price", "call", "--strike", "100", "--vol", "0.2", "--days", "3"],
         "error: Missing option '--spot'."),
        (["price"], "error: Missing argument 'kind'."),
        (["price", "call", "--spot", "1", "--strike", "1", "--vol", "0.2", "--days", "3",
          "--bogus"],
         "error: No such option: --bogus"),
        (["nosuchcommand"], "error: No such command 'nosuchcommand'."),
        (["iv", "straddle", "--price", "1", "--spot", "100", "--strike", "100", "--days", "3"],
         "error: unknown kind 'straddle'; iv takes call or put"),
        (["iv", "call", "--price", "-1", "--spot", "100", "--strike", "100", "--days", "3"],
         "error: --price must be > 0, got -1"),
        (["iv", "call", "--price", "1", "--spot", "100", "--strike", "100", "--days", "0"],
         "error: --days must be > 0 (implied vol is undefined at expiry), got 0"),
    ],
)  # fmt: skip
def test_errors_exit_2_with_one_line(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err == message + "\n"
    assert "Traceback" not in err


def test_version_and_bare_command(capsys):
    code, out, err = run(capsys, "--version")
    assert (code, out, err) == (0, f"gammaperp {__version__}\n", "")
    code, out, err = run(capsys)
    assert code == 2 and "Usage" in out and "price" in out and err == ""


def test_installed_console_script():
    exe = shutil.which("gammaperp")
    cmd = [exe] if exe else [sys.executable, "-c", "from gammaperp.cli import main; main()"]
    proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"gammaperp {__version__}\n", "")
    proc = subprocess.run(
        [*cmd, "price", "put", *BASE, "--json"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert json.loads(proc.stdout)["legs"][0]["price"] == pytest.approx(PUT, abs=1e-9)
    proc = subprocess.run(
        [*cmd, "price", "call", "--spot", "-1", "--strike", "1", "--vol", "1", "--days", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2,
        "",
        "error: --spot must be > 0, got -1\n",
    )
    assert exe is not None, "the gammaperp console script is not installed"


def test_narrow_terminal_gets_one_row_per_greek(capsys, monkeypatch):
    from rich.console import Console

    import gammaperp.cli.price as price_mod

    monkeypatch.setattr(
        price_mod, "_out_console", lambda: Console(file=sys.stdout, width=80, color_system=None)
    )
    code, out, _ = run(capsys, "price", "straddle", *BASE)
    assert code == 0
    rows = {
        cells[0]: cells[1:]
        for line in out.splitlines()
        if line.startswith("│")
        for cells in [[c.strip() for c in line.strip("│ ").split("│")]]
    }
    assert rows["price (USD)"] == ["10.450584", "5.573526", "16.02411"]
    assert rows["delta (coin)"] == ["0.63683065", "-0.36316935", "0.2736613"]
    assert rows["vega (USD/vol pt)"] == ["0.37524035", "0.37524035", "0.75048069"]
    assert max(len(line) for line in out.splitlines()[1:]) <= 80
