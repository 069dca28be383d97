"""The inputs of a report: a run directory or a :class:`~gammaperp.results.result.Result`,
normalised into one :class:`RunData` (frames + JSON documents).

Both sources give identical :class:`RunData` (the JSON documents of a ``Result`` are passed
through the same JSON round trip as ``Result.save`` writes), so a report rebuilt from a run
directory shows the same charts as the one written at the end of the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gammaperp.errors import GammaperpError

# Files every run directory has (``record="summary"`` runs have only these) ...
REQUIRED_FILES = ("equity.parquet", "summary.json")
# ... optional documents (a report shows "not available" without them) ...
DOCUMENT_FILES = ("config.json", "market.json", "assumptions.json")
# ... and the ledgers of ``record="full"`` runs.
LEDGER_FILES = ("trades.parquet", "funding.parquet", "rolls.parquet", "liquidations.parquet")
# ... and, in full runs written since risk overlays exist, their event log (optional: a run
# directory written before it has none)
EVENT_FILE = "events.parquet"


class ReportError(GammaperpError, ValueError):
    """A report cannot be built: not a run directory, missing file, no browser for PNGs."""


@dataclass
class RunData:
    """Everything a report reads. Duck-types the frame attributes of ``Result``
    (``summary``, ``equity``, ``trades``, ``funding``, ``rolls``, ``liquidations``,
    ``events``, ``config``, ``full``) so analytics functions written against frames accept it
    too."""

    summary: dict[str, Any]
    equity: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    market_info: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    trades: pd.DataFrame | None = None
    funding: pd.DataFrame | None = None
    rolls: pd.DataFrame | None = None
    liquidations: pd.DataFrame | None = None
    events: pd.DataFrame | None = None  # risk-overlay events (full runs)
    full: bool = True
    run_dir: Path | None = None
    result: Any = None  # the Result this was built from, if any (handed to analytics)
    missing: tuple[str, ...] = ()  # optional documents that were not found

    @property
    def name(self) -> str:
        return str(self.config.get("name") or (self.run_dir.name if self.run_dir else "run"))

    @property
    def record(self) -> str:
        return "full" if self.full else "summary"

    @property
    def equity_start(self) -> float:
        if "equity_start" in self.summary:
            return float(self.summary["equity_start"])
        eq = self.equity["equity"]
        return float(eq.iloc[0]) if len(eq) else 0.0


def _json_roundtrip(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None


def load_run_dir(run_dir: str | os.PathLike[str]) -> RunData:
    """Read a run directory; a missing required file raises :class:`ReportError` naming it."""
    d = Path(run_dir)
    if not d.exists():
        raise ReportError(f"{d}: no such run directory")
    if not d.is_dir():
        raise ReportError(f"{d}: not a run directory (not a directory)")
    for name in REQUIRED_FILES:
        if not (d / name).is_file():
            raise ReportError(f"{d}: not a run directory (missing {name})")
    summary = _read_json(d / "summary.json")
    docs: dict[str, Any] = {}
    missing = []
    for name in DOCUMENT_FILES:
        p = d / name
        if p.is_file():
            docs[name] = _read_json(p)
        else:
            missing.append(name)
    config = docs.get("config.json") or {}
    record = (config.get("output") or {}).get("record")
    full = (d / "trades.parquet").is_file() or record == "full"
    frames: dict[str, pd.DataFrame | None] = {}
    if full:
        for name in LEDGER_FILES:
            if not (d / name).is_file():
                raise ReportError(f"{d}: incomplete run directory (missing {name})")
            frames[name] = _read_parquet(d / name)
        if (d / EVENT_FILE).is_file():
            frames[EVENT_FILE] = _read_parquet(d / EVENT_FILE)
    return RunData(
        summary=summary,
        equity=_read_parquet(d / "equity.parquet"),
        config=config,
        market_info=docs.get("market.json") or {},
        assumptions=list(docs.get("assumptions.json") or []),
        trades=frames.get("trades.parquet"),
        funding=frames.get("funding.parquet"),
        rolls=frames.get("rolls.parquet"),
        liquidations=frames.get("liquidations.parquet"),
        events=frames.get(EVENT_FILE),
        full=full,
        run_dir=d,
        missing=tuple(missing),
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ReportError(f"{path}: cannot read ({type(exc).__name__}: {exc})") from None


def from_result(result: Any, run_dir: Path | None = None) -> RunData:
    """Wrap a ``Result`` (documents JSON round-tripped exactly as ``Result.save`` writes)."""
    from gammaperp.results.result import ASSUMPTIONS

    full = bool(getattr(result, "full", True))
    return RunData(
        summary=_json_roundtrip(result.summary),
        equity=result.equity,
        config=_json_roundtrip(result.config or {}),
        market_info=_json_roundtrip(result.market.describe()),
        assumptions=list(ASSUMPTIONS),
        trades=result.trades if full else None,
        funding=result.funding if full else None,
        rolls=result.rolls if full else None,
        liquidations=result.liquidations if full else None,
        events=result.events if full else None,
        full=full,
        run_dir=run_dir,
        result=result,
    )


def as_run_data(source: Any) -> RunData:
    """A run directory path, a ``Result`` or a ``RunData`` -> ``RunData``."""
    if isinstance(source, RunData):
        return source
    if isinstance(source, str | os.PathLike):
        return load_run_dir(source)
    if hasattr(source, "equity") and hasattr(source, "summary") and hasattr(source, "market"):
        return from_result(source)
    raise ReportError(
        f"cannot build a report from {type(source).__name__}: pass a run directory or a Result"
    )
