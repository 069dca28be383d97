"""PNG export of the key charts with headless Chromium."""

from __future__ import annotations

import shutil
import struct

import pytest

from gammaperp.report import PNG_CHARTS, export_png, find_chromium
from gammaperp.report.png import PNG_MAGIC

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium not found (install it: apt-get install chromium; .ci/run does)",
)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_export_png_sizes_and_summary_runs(summary_run, tmp_path):
    out = export_png(summary_run[1], tmp_path / "charts", width=1000, height=450)
    assert set(out) == set(PNG_CHARTS) == {"equity", "drawdown", "components", "price"}
    for cid in ("equity", "drawdown", "components"):
        assert out[cid] == tmp_path / "charts" / f"{cid}.png"
        assert png_size(out[cid].read_bytes()) == (1000, 450)
    # a record="summary" run has no trades to mark: said, not drawn
    assert isinstance(out["price"], str) and "record='summary'" in out["price"]
    assert not (tmp_path / "charts" / "price.png").exists()


def test_cli_png(full_run, tmp_path, capsys):
    from gammaperp.cli import main

    d = tmp_path / "run"
    shutil.copytree(full_run[1], d)
    main(["report", str(d), "--png"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"report: {d / 'report.html'}"
    assert sorted(out[1:]) == sorted(f"chart: {d / 'charts' / c}.png" for c in PNG_CHARTS)
    for c in PNG_CHARTS:
        data = (d / "charts" / f"{c}.png").read_bytes()
        assert png_size(data) == (1400, 560)  # the default size
        assert len(data) > 15_000  # a drawn chart, not a blank page
        assert data[-8:-4] == b"IEND"
