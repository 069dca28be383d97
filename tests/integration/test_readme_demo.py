"""The README's main command, run as a new user would: a fresh virtual environment, an empty
numba cache, `pip install <repo> && gammaperp demo`, then the report it writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text[text.index("## Quick start") :]
    return re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)[:2]


def test_readme_quick_start_has_exactly_the_two_commands():
    main, tests = readme_commands()
    assert main == "python3 -m pip install . && gammaperp demo"
    assert tests == 'python3 -m pip install -q -e ".[test,dev]" && python3 -m pytest -q -n 2'
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == tests  # .ci/run runs the README's test command verbatim


def test_main_command_in_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    # system site-packages provide the already-installed dependencies (no downloads); the
    # project itself is installed fresh into the venv, which shadows any other copy
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
        "PIP_NO_INPUT": "1",
    }
    env.pop("PYTHONPATH", None)
    main, _ = readme_commands()
    cmd = main.replace("pip install .", f"pip install -q '{ROOT}'")
    t0 = time.perf_counter()
    out = subprocess.run(
        ["bash", "-c", cmd],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    elapsed = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    # the demo ran with the venv's copy of gammaperp, not the development checkout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import gammaperp; print(gammaperp.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout
    run_dir = work / "demo-run"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["bars_run"] > 100_000 and summary["max_abs_residual"] < 1e-6
    for key in ("sharpe", "max_drawdown", "win_rate", "n_hedges"):
        assert key in summary
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Equity curve" in html
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?:", html)  # offline
    assert "report: demo-run/report.html" in out.stdout
    print(f"README main command in a fresh venv (install + cold JIT + demo): {elapsed:.1f} s")
