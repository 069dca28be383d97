"""``gammaperp run CONFIG`` and ``gammaperp demo``: run a backtest and write its run directory."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from gammaperp.cli._app import app, console, err_console

DEMO_DIR = Path("demo-run")


def _stage(progress: Any, task: Any, text: str) -> None:
    progress.update(task, description=text, advance=1)


def execute(cfg: Any, out: Path | None, *, quiet: bool = False, as_json: bool = False) -> Any:
    """Build the market, simulate and save, with a progress display; returns the Result."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gammaperp.api import build_market, run_spec
    from gammaperp.config import config_fingerprint, config_to_dict
    from gammaperp.engine import simulate

    show = not quiet and not as_json
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
        transient=False,
    )
    t0 = time.perf_counter()
    report = None
    with progress:
        task = progress.add_task("building market", total=4 if out is not None else 3)
        market = build_market(cfg)
        _stage(progress, task, f"simulating {market.n_bars:,} bars (first run compiles the kernel)")
        resolved = config_to_dict(cfg)
        resolved["_fingerprint"] = config_fingerprint(cfg)
        res = simulate(market, run_spec(cfg), record=cfg.output.record, config=resolved)
        _stage(progress, task, "writing run directory")
        if out is not None:
            res.save(out, overwrite=cfg.output.overwrite or out == DEMO_DIR)
            _stage(progress, task, "writing report.html")
            report = _write_report(res, out)
        _stage(progress, task, "done")
    elapsed = time.perf_counter() - t0
    if as_json:
        payload = {
            "summary": res.summary,
            "run_dir": str(out) if out else None,
            "report": str(report) if report else None,
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    elif not quiet:
        _print_summary(res, out, elapsed, report)
    return res


def _write_report(res: Any, out: Path) -> Path | None:
    """``report.html`` in the run directory; a failure is a warning (the run is saved)."""
    from gammaperp.report import build_report

    try:
        return build_report(res, out / "report.html")
    except Exception as exc:
        err_console.print(
            f"warning: report.html not written ({type(exc).__name__}: {exc}); "
            f"retry with: gammaperp report {out}",
            markup=False,
        )
        return None


def _print_summary(res: Any, out: Path | None, elapsed: float, report: Path | None = None) -> None:
    from rich.table import Table

    s = res.summary
    m = res.market.describe()
    table = Table(
        title=f"{res.config.get('name', 'run')}: {m['start']} .. {m['end']}", show_header=True
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    rows = [
        ("total P&L", s["total_pnl"], "USD"),
        ("  option P&L", s["option_pnl"], "USD"),
        ("  perp trading P&L", s["perp_pnl"], "USD"),
        ("  funding (received +)", s["funding"], "USD"),
        ("  fees", -s["fees"], "USD"),
        ("  slippage", -s["slippage"], "USD"),
        ("equity start", s["equity_start"], "USD"),
        ("equity end", s["equity_end"], "USD"),
        ("hedge trades", s["n_hedges"], "count"),
        ("option rolls", s["n_option_rolls"], "count"),
        ("liquidations", s["liquidations"], "count"),
        ("max margin ratio", s["max_margin_ratio"], "maint/equity"),
        ("accounting residual (max)", s["max_abs_residual"], "USD"),
        ("bars", s["bars_run"], f"of {s['bars']}"),
    ]
    for name, value, unit in rows:
        if isinstance(value, float):
            text = f"{value:,.6g}" if "residual" in name or "ratio" in name else f"{value:,.2f}"
        else:
            text = f"{value:,}"
        table.add_row(name, text, unit)
    console.print(table)
    if s["failed"]:
        console.print(f"[red]run stopped: liquidated at {s['failed_at']}[/red]")
    cov = res.market.meta.get("coverage")
    if cov:
        console.print(
            f"window {res.market.meta.get('window')}: " + cov.replace("; ", "\n  "),
            markup=False,
            highlight=False,
        )
    if out is not None:
        console.print(f"run directory: {out}")
    if report is not None:
        console.print(f"report: {report}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"elapsed: {elapsed:.2f} s")


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="Experiment config (.toml, .yaml, .json).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Run directory to write (default: output.dir)."),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set hedge.band=0.1 (repeatable)."),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            help="Named historical window, e.g. chop-2021-04-06 (data from the store unless "
            "the config reads files); see `gammaperp data windows`.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no table.")] = False,
) -> None:
    """Run a backtest from a config file; writes the run directory if --out is given."""
    from gammaperp.config import apply_overrides, load_config, parse_override

    cfg = load_config(config)
    pairs = dict(parse_override(item) for item in overrides or [])
    if window is not None:
        pairs["market.window"] = window
        if cfg.market.source == "synthetic":
            pairs["market.source"] = "store"
    if pairs:
        cfg = apply_overrides(cfg, pairs, source="--set", base_dir=Path.cwd())
    target = out if out is not None else cfg.output.dir
    execute(cfg, target, quiet=quiet, as_json=as_json)


@app.command("demo")
def demo_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run directory to write (replaced if present).")
    ] = DEMO_DIR,
    bars: Annotated[
        int, typer.Option(help="Minute bars of the synthetic market (default: 90 days).")
    ] = 129_600,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Run on real bars instead: an OHLCV file in any format "
            "`gammaperp data import` reads (e.g. a Binance kline CSV).",
        ),
    ] = None,
    funding: Annotated[
        Path | None, typer.Option("--funding", help="Funding-rate history for --data.")
    ] = None,
    iv: Annotated[
        Path | None,
        typer.Option("--iv", help="Implied-vol series for --data (e.g. Deribit DVOL)."),
    ] = None,
    iv_constant: Annotated[
        float | None,
        typer.Option("--iv-constant", help="Constant implied vol for --data, decimal (0.6)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Long-gamma scalping demo: a long ATM straddle, rolled every 30 days and delta-hedged
    with a perp, on the synthetic default market (sideways-volatile preset) or, with --data,
    on real bars. Writes the run directory and report.html."""
    from gammaperp.config import ExperimentConfig
    from gammaperp.errors import ConfigError

    market: dict = {"bars": bars}
    if data is not None:
        if iv is None and iv_constant is None:
            raise ConfigError(
                "--data needs implied vol: --iv FILE (e.g. Deribit DVOL) or --iv-constant 0.6 "
                "(realised vol is never used as implied vol)"
            )
        market = {"source": "files", "ohlcv": str(data.resolve()), "gap_policy": "ffill"}
        if funding is not None:
            market["funding"] = str(funding.resolve())
        else:
            market["funding_constant"] = 0.0001
        if iv is not None:
            market["iv"] = str(iv.resolve())
        else:
            market["iv_constant"] = iv_constant
    elif funding is not None or iv is not None or iv_constant is not None:
        raise ConfigError("--funding, --iv and --iv-constant go with --data")
    cfg = ExperimentConfig.model_validate(
        {"name": "demo", "market": market, "output": {"overwrite": True}}
    )
    execute(cfg, out, as_json=as_json)
