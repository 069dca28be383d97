"""PNG export of the key charts with headless Chromium (no kaleido, no downloads).

Every chart is drawn at a fixed size on one self-contained HTML page, which one headless
Chromium loads; a clipped screenshot per chart (DevTools protocol over
``--remote-debugging-pipe``) gives the PNGs. Chromium comes from the
distribution (``apt-get install chromium``); set ``GAMMAPERP_CHROMIUM`` to use another binary.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import plotly.io as pio

from gammaperp.report import charts as C
from gammaperp.report.data import ReportError, as_run_data
from gammaperp.report.page import CSP

# chart id -> builder; the charts exported by default
PNG_CHARTS = {
    "equity": C.equity_chart,
    "drawdown": C.drawdown_chart,
    "components": C.components_chart,
    "price": C.price_hedges_chart,
}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "apt-get install chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary: ``$GAMMAPERP_CHROMIUM``, else the first on PATH."""
    env = os.environ.get("GAMMAPERP_CHROMIUM")
    if env:
        return shutil.which(env) or (env if Path(env).is_file() else None)
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    path = find_chromium()
    if path is None:
        raise ReportError(
            f"PNG export needs Chromium, which was not found: install it ({INSTALL_HINT}) "
            "or set GAMMAPERP_CHROMIUM to a Chromium/Chrome binary"
        )
    return path


def chromium_args(binary: str, user_data_dir: str | os.PathLike[str]) -> list[str]:
    """Headless Chromium with no sandbox (root in containers), GPU, network chatter or sync."""
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        f"--user-data-dir={user_data_dir}",
    ]


def _charts_page(figs: dict[str, Any], width: int, height: int) -> str:
    """One page with every chart in a fixed-size ``div`` (``chart-<id>``), static plots."""
    from plotly.offline import get_plotlyjs

    divs, calls = [], []
    for cid, fig in figs.items():
        d = fig.to_dict()
        layout = d.setdefault("layout", {})
        layout.update(width=width, height=height)
        spec = pio.to_json({"data": d.get("data", []), "layout": layout}, validate=False)
        divs.append(f'<div id="chart-{cid}" style="width:{width}px;height:{height}px"></div>')
        calls.append(
            f'(function(s){{return Plotly.newPlot("chart-{cid}",s.data,s.layout,'
            f"{{staticPlot:true}});}})({spec})"
        )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<style>html,body{{margin:0;padding:0;background:white}}</style>
<script>{get_plotlyjs()}</script></head>
<body>{"".join(divs)}
<script>window.__done = Promise.all([{",".join(calls)}]);</script>
</body></html>"""


def export_png(
    source: Any,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    charts: tuple[str, ...] | None = None,
    width: int = 1400,
    height: int = 560,
    scale: float = 1.0,
    timeout: float = 90.0,
) -> dict[str, Path | str]:
    """Render the key charts to ``out_dir/<id>.png`` (default: ``<run dir>/charts``).

    One headless Chromium renders a page holding every chart and takes one clipped
    screenshot per chart (DevTools protocol over a pipe). Returns ``{chart id: png path}``,
    or ``{chart id: reason}`` for a chart this run cannot draw (e.g. the trade markers of a
    ``record="summary"`` run). Raises :class:`ReportError` when Chromium is missing or fails.
    """
    from gammaperp.report._cdp import Browser

    binary = require_chromium()
    run = as_run_data(source)
    if out_dir is None:
        if run.run_dir is None:
            raise ReportError("export_png(result): pass out_dir (a Result has no run directory)")
        out_dir = run.run_dir / "charts"
    wanted = charts or tuple(PNG_CHARTS)
    unknown = [c for c in wanted if c not in PNG_CHARTS]
    if unknown:
        raise ReportError(f"unknown chart {unknown[0]!r}: choose from {', '.join(PNG_CHARTS)}")
    results: dict[str, Path | str] = {}
    figs = {}
    for cid in wanted:
        try:
            figs[cid] = PNG_CHARTS[cid](run)
        except C.Unavailable as exc:
            results[cid] = str(exc)
    if not figs:
        return results
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gammaperp-png-") as tmp:
        page_file = Path(tmp) / "charts.html"
        page_file.write_text(_charts_page(figs, width, height), encoding="utf-8")
        with Browser(binary, timeout=timeout) as browser:
            page = browser.new_page(width=width, height=height, scale=scale)
            page.navigate(page_file.as_uri())
            rects = page.evaluate(
                "window.__done.then(() => Object.fromEntries(["
                + ",".join(f'"chart-{c}"' for c in figs)
                + "].map(id => { const r = document.getElementById(id)"
                ".getBoundingClientRect(); return [id, [r.left + window.scrollX, "
                "r.top + window.scrollY, r.width, r.height]]; })))"
            )
            for cid in figs:
                x, y, w, h = rects[f"chart-{cid}"]
                png = page.screenshot({"x": x, "y": y, "width": w, "height": h})
                if png[:8] != PNG_MAGIC:
                    raise ReportError(f"chromium returned no PNG for {cid}")
                target = out / f"{cid}.png"
                target.write_bytes(png)
                results[cid] = target
    return {c: results[c] for c in wanted}
