"""``gammaperp report`` and the report written by ``gammaperp run/demo``."""

from __future__ import annotations

import json
import shutil

import pytest

from cli_helpers import run_main as cli


def test_report_command_rebuilds_the_report(full_run, tmp_path, capsys):
    d = tmp_path / "run"
    shutil.copytree(full_run[1], d)
    (d / "report.html").unlink(missing_ok=True)
    code, out, err = cli(capsys, "report", str(d))
    assert (code, err) == (0, "")
    assert out.strip() == f"report: {d / 'report.html'}"
    assert (d / "report.html").stat().st_size > 1e6
    target = tmp_path / "elsewhere" / "r.html"
    code, out, err = cli(capsys, "report", str(d), "--out", str(target))
    assert (code, err) == (0, "")
    assert out.strip() == f"report: {target}"
    assert target.read_text() == (d / "report.html").read_text()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such run directory"),
        ("empty", "not a run directory (missing equity.parquet)"),
        ("no-summary", "not a run directory (missing summary.json)"),
        ("no-trades", "incomplete run directory (missing trades.parquet)"),
        ("file", "not a run directory (not a directory)"),
    ],
)
def test_report_command_errors_are_one_line_exit_2(full_run, tmp_path, capsys, setup, message):
    d = tmp_path / "d"
    if setup == "empty":
        d.mkdir()
    elif setup in ("no-summary", "no-trades"):
        shutil.copytree(full_run[1], d)
        (d / ("summary.json" if setup == "no-summary" else "trades.parquet")).unlink()
    elif setup == "file":
        d.write_text("x")
    code, out, err = cli(capsys, "report", str(d))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert message in err and str(d) in err


def test_png_without_chromium_names_the_package(full_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GAMMAPERP_CHROMIUM", str(tmp_path / "no-such-browser"))
    d = tmp_path / "run"
    shutil.copytree(full_run[1], d)
    (d / "report.html").unlink(missing_ok=True)
    code, out, err = cli(capsys, "report", str(d), "--png")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "apt-get install chromium" in err
    assert not (d / "report.html").exists()  # nothing half-done


def test_run_writes_the_report_and_prints_its_path(tmp_path, capsys):
    cfg = tmp_path / "exp.toml"
    cfg.write_text('name = "cli-report"\nseed = 5\n[market]\nbars = 5000\n')
    out_dir = tmp_path / "run"
    code, out, _ = cli(capsys, "run", str(cfg), "--out", str(out_dir))
    assert code == 0
    assert f"report: {out_dir / 'report.html'}" in out.splitlines()
    assert (out_dir / "report.html").is_file()
    code, out, _ = cli(capsys, "run", str(cfg), "--out", str(tmp_path / "j"), "--json")
    assert code == 0
    assert json.loads(out)["report"] == str(tmp_path / "j" / "report.html")


def test_demo_writes_the_report(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    code, out, _ = cli(capsys, "demo", "--out", str(out_dir), "--bars", "4000")
    assert code == 0
    assert f"report: {out_dir / 'report.html'}" in out.splitlines()
    assert "Headline metrics" in (out_dir / "report.html").read_text()
