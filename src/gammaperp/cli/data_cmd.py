"""``gammaperp data ...``: import, list, show, resample and download market data; windows.

Every command works on the store under ``$GAMMAPERP_HOME`` (default ``~/.gammaperp``), or
``--home`` given to ``data``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gammaperp.cli._app import app, console, err_console

data_app = typer.Typer(
    name="data",
    help="Market data: import files, list/show the local store, resample, download, windows.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def _store(ctx: typer.Context) -> Any:
    from gammaperp.data.store import Store

    home = (ctx.obj or {}).get("home") if isinstance(ctx.obj, dict) else None
    return Store(home)


def _iso(ts: Any) -> str | None:
    import pandas as pd

    if ts is None or ts is pd.NaT or (isinstance(ts, float) and ts != ts):
        return None
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _print_table(table: Table) -> None:
    # Piped output: no 80-column squeeze, so keys and times stay whole and grep-able.
    if console.is_terminal:
        console.print(table)
    else:
        Console(width=240, highlight=False).print(table)


def _short(ts: Any) -> str:
    s = _iso(ts)
    return "" if s is None else s.replace("T", " ").removesuffix(":00Z").removesuffix("Z")


@data_app.callback()
def _data(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None,
        "--home",
        envvar="GAMMAPERP_HOME",
        help="Store directory (default: $GAMMAPERP_HOME, else ~/.gammaperp).",
    ),
) -> None:
    """Market data in the local store (Parquet files + DuckDB catalog)."""
    ctx.obj = {"home": home}


# --------------------------------------------------------------------------- import


@data_app.command("import")
def import_cmd(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Data files (csv, csv.gz, json, feather...)."),
    venue: str | None = typer.Option(None, "--venue", help="Venue, when the file name lacks it."),
    symbol: str | None = typer.Option(None, "--symbol", help="Symbol, e.g. BTCUSDT."),
    market: str | None = typer.Option(None, "--market", help="spot, perp, inverse_perp..."),
    kind: str | None = typer.Option(None, "--kind", help="ohlcv, funding, iv, trades..."),
    fmt: str | None = typer.Option(None, "--format", help="Loader format (see formats())."),
    rate_unit: str = typer.Option(
        "auto", "--rate-unit", help="Funding rates: decimal, percent, auto."
    ),
    mode: str = typer.Option("merge", "--mode", help="merge (dedupe on ts) or replace."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Load files, validate them and write them into the store.

    A file that fails is reported (naming the file) and the others are still imported; the
    exit code is then 2.
    """
    from gammaperp.data.loaders import load
    from gammaperp.data.validate import validate

    store = _store(ctx)
    done: list[dict[str, Any]] = []
    failed: list[tuple[str, str]] = []
    for path in paths:
        try:
            loaded = load(
                path,
                kind=kind,
                fmt=fmt,
                venue=venue,
                symbol=symbol,
                market=market,
                rate_unit=rate_unit,
            )
            items = loaded if isinstance(loaded, list) else [loaded]
            checked = []
            for series in items:
                report = validate(series)
                report.raise_for_errors()
                checked.append((series, len(report.warnings)))
            for series, n_warn in checked:
                res = store.put(series, mode=mode, source=str(path))
                done.append({**res.as_dict(), "file": str(path), "warnings": n_warn})
        except Exception as exc:  # one bad file must not stop the others
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not isinstance(exc, ValueError | OSError | KeyError):  # unexpected: say what
                msg = f"{type(exc).__name__}: {msg}"
            failed.append((str(path), msg))
            err_console.print(f"error: {escape(path.name)}: {escape(msg)}")
    if as_json:
        typer.echo(
            json.dumps(
                {"imported": done, "failed": [{"file": f, "error": m} for f, m in failed]},
                indent=2,
            )
        )
    elif done:
        table = Table(title=f"imported into {store.home}")
        for col in ("file", "key", "rows", "new", "stored", "first", "last", "warnings"):
            right = col in ("rows", "new", "stored", "warnings")
            table.add_column(col, justify="right" if right else "left")
        for d in done:
            table.add_row(
                Path(d["file"]).name,
                d["key"],
                f"{d['rows_in']:,}",
                f"{d['rows_new']:,}",
                f"{d['rows_total']:,}",
                _short(d["first"]),
                _short(d["last"]),
                str(d["warnings"]),
            )
        _print_table(table)
    if failed:
        err_console.print(f"{len(failed)} of {len(paths)} file(s) failed")
        raise typer.Exit(2)


# --------------------------------------------------------------------------- list / show


@data_app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON."),
) -> None:
    """List every stored series: key, rows, span, bar size, sources."""
    df = _store(ctx).list()
    if as_json:
        recs = []
        for r in df.to_dict(orient="records"):
            r = dict(r)
            for c in ("first", "last", "imported_at"):
                r[c] = _iso(r[c])
            r["bar_seconds"] = (
                None
                if r["bar_seconds"] is None or str(r["bar_seconds"]) == "<NA>"
                else int(r["bar_seconds"])
            )
            recs.append(r)
        typer.echo(json.dumps(recs, indent=2))
        return
    if df.empty:
        typer.echo("the store is empty: import files with `gammaperp data import PATH...`")
        return
    table = Table()
    for col in ("key", "rows", "first", "last", "files", "MB"):
        table.add_column(col, justify="right" if col in ("rows", "files", "MB") else "left")
    for r in df.itertuples(index=False):
        table.add_row(
            r.key,
            f"{r.rows:,}",
            _short(r.first),
            _short(r.last),
            str(r.n_files),
            f"{r.bytes / 1e6:.1f}",
        )
    _print_table(table)


@data_app.command("show")
def show_cmd(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="Symbol, e.g. BTCUSDT."),
    venue: str | None = typer.Option(None, "--venue"),
    kind: str = typer.Option("ohlcv", "--kind"),
    market: str | None = typer.Option(None, "--market"),
    bar: str | None = typer.Option(None, "--bar", help="Bar size, e.g. 1m, 5m, 1h."),
    head: int = typer.Option(5, "--head", min=0, help="Rows to show from each end."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show a stored series: its catalog entry and its first and last rows."""
    import pandas as pd

    store = _store(ctx)
    entry = store.resolve(symbol, venue=venue, market=market, kind=kind, bar=bar)
    info = store.info(symbol, venue=venue, market=market, kind=kind, bar=bar)
    row = info[info["key"] == entry["key"]].iloc[0].to_dict()
    series = store.read(entry["key"])
    frame = series.frame
    parts = [frame.head(head), frame.tail(head)] if len(frame) > 2 * head else [frame]
    shown = pd.concat(parts) if head else frame.iloc[0:0]
    if as_json:
        out = {k: (_iso(v) if k in ("first", "last", "imported_at") else v) for k, v in row.items()}
        out["bar_seconds"] = None if pd.isna(out["bar_seconds"]) else int(out["bar_seconds"])
        out["columns"] = list(frame.columns)
        out["head"] = [
            {"ts": _iso(ts), **{c: _jsonable(v) for c, v in rec.items()}}
            for ts, rec in zip(
                frame.head(head).index, frame.head(head).to_dict("records"), strict=True
            )
        ]
        out["tail"] = (
            [
                {"ts": _iso(ts), **{c: _jsonable(v) for c, v in rec.items()}}
                for ts, rec in zip(
                    frame.tail(head).index, frame.tail(head).to_dict("records"), strict=True
                )
            ]
            if head
            else []
        )
        typer.echo(json.dumps(out, indent=2))
        return
    lines = [
        f"key:       {row['key']}",
        f"rows:      {row['rows']:,}",
        f"span:      {_short(row['first'])} → {_short(row['last'])} (UTC, bar open times)"
        if row["bar_seconds"] is not None and not pd.isna(row["bar_seconds"])
        else f"span:      {_short(row['first'])} → {_short(row['last'])} (UTC)",
        f"bar:       {'-' if pd.isna(row['interval']) else row['interval']}",
        f"columns:   {', '.join(frame.columns)}",
        f"files:     {row['n_files']} ({row['bytes'] / 1e6:.2f} MB) in {store.home / row['path']}",
        f"sources:   {row['sources'] or '-'}",
        f"imported:  {_short(row['imported_at'])}",
    ]
    for line in lines:
        typer.echo(line)
    if head and len(frame):
        typer.echo("")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            typer.echo(shown.to_string())


def _jsonable(v: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(v, float | np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return _iso(v)
    return v


# --------------------------------------------------------------------------- resample


@data_app.command("resample")
def resample_cmd(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="Symbol of the stored source bars."),
    to: str = typer.Option(..., "--to", help="Target bar size, e.g. 5m, 1h, 1d."),
    bar: str | None = typer.Option(None, "--bar", help="Source bar size (if several)."),
    venue: str | None = typer.Option(None, "--venue"),
    market: str | None = typer.Option(None, "--market"),
    partial: bool = typer.Option(False, "--partial", help="Keep incomplete bars."),
) -> None:
    """Resample stored OHLCV bars to a coarser bar size and store the result."""
    from gammaperp.data.resample import resample_ohlcv

    store = _store(ctx)
    src = store.get(symbol, venue=venue, market=market, kind="ohlcv", bar=bar)
    out = resample_ohlcv(src, to, partial=partial)
    if partial and "complete" in out.frame.columns:
        out = type(out)(
            out.kind,
            out.venue,
            out.symbol,
            out.market,
            out.frame.drop(columns=["complete"]),
            out.source,
            out.meta,
        )
    res = store.put(out, source=f"resample:{src.meta.get('store_key', src.key)}")
    typer.echo(
        f"{res.key}: {res.rows_in:,} bars from {len(src):,} "
        f"({_short(res.first)} → {_short(res.last)})"
    )


# --------------------------------------------------------------------------- download


@data_app.command("download")
def download_cmd(
    ctx: typer.Context,
    exchange: str = typer.Option(..., "--exchange", help="ccxt exchange id, e.g. binanceusdm."),
    symbol: str = typer.Option(..., "--symbol", help="ccxt symbol, e.g. BTC/USDT:USDT."),
    kind: str = typer.Option("ohlcv", "--kind", help="ohlcv, mark, index or funding."),
    timeframe: str = typer.Option("1m", "--timeframe", help="Candle size for ohlcv/mark/index."),
    since: str | None = typer.Option(None, "--since", help="Start (UTC), e.g. 2024-01-01."),
    until: str | None = typer.Option(None, "--until", help="End, exclusive (default: now)."),
    retries: int = typer.Option(5, "--retries", min=0, help="Retries per request."),
    backoff: float = typer.Option(1.0, "--backoff", min=0.0, help="First retry wait (s)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Rows per request."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download candles or funding history through ccxt into the store (resumes)."""
    from gammaperp.data import download as dl

    store = _store(ctx)
    ex = dl.make_exchange(exchange)
    downloader = dl.Downloader(
        ex,
        store,
        retries=retries,
        backoff=backoff,
        limit=limit,
        progress=not quiet,
        console=err_console,
    )
    result = downloader.run(symbol, kind=kind, timeframe=timeframe, since=since, until=until)
    typer.echo(result.summary())


# --------------------------------------------------------------------------- windows


@data_app.command("windows")
def windows_cmd(
    ctx: typer.Context,
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="Symbol (its base asset is used)."),
    name: str | None = typer.Option(None, "--name", help="Only this window."),
    prefer: str = typer.Option("1m,5m,1h", "--prefer", help="Bar sizes, best first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Each named historical window and how much of it the store covers."""
    from gammaperp.data import windows as W

    store = _store(ctx)
    names = [W.get_window(name).name] if name else [w.name for w in W.windows()]
    pref = tuple(p.strip() for p in prefer.split(",") if p.strip())
    with store.session():
        results = [W.resolve(n, store, symbol=symbol, prefer=pref) for n in names]
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
        return
    for i, r in enumerate(results):
        if i:
            typer.echo("")
        typer.echo(r.statements[0])
        for line in r.statements[1:]:
            typer.echo(f"  {line}")
