"""The simulation engine: the one place that decides what a position is worth and what a trade
costs.

* :mod:`gammaperp.engine._nb` - the numba kernel and the accounting primitives
  (``fill_nb``, ``fund_nb``, ``unrealized_nb``, ``slippage_nb``...);
* :mod:`gammaperp.engine.margin` - tiered maintenance margin and liquidation-price formulas;
* :mod:`gammaperp.engine.specs` - frozen venue / strategy / execution specifications;
* :mod:`gammaperp.engine.core` - array set-up and the batch runner;
* :mod:`gammaperp.engine.account` - the same primitives driven step by step from Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from gammaperp.engine.core import run_kernel
from gammaperp.engine.specs import (
    CarrySpec,
    ExecutionSpec,
    PairSpec,
    RiskSpec,
    RunSpec,
    ScalpSpec,
    ScriptedOrders,
    StraddleSpec,
    VenueSpec,
)
from gammaperp.market.model import Market
from gammaperp.results.result import Result

__all__ = [
    "CarrySpec",
    "ExecutionSpec",
    "PairSpec",
    "RiskSpec",
    "RunSpec",
    "ScalpSpec",
    "ScriptedOrders",
    "StraddleSpec",
    "VenueSpec",
    "simulate",
    "simulate_batch",
]


def simulate_batch(
    market: Market,
    specs: Sequence[RunSpec],
    *,
    record: Literal["full", "summary"] = "full",
    parallel: bool | None = None,
    configs: Sequence[dict[str, Any]] | None = None,
    stride: int | None = None,
    strategy: object | None = None,
) -> list[Result]:
    """Run many configurations over one market in a single compiled pass (in parallel).

    ``record="summary"`` keeps one equity row per ``stride`` bars (default: daily) and no
    blotter - the mode for sweeps of thousands of configurations.
    """
    km, out, stride = run_kernel(
        market, specs, record=record, parallel=parallel, stride=stride, strategy=strategy
    )
    results = []
    for c, spec in enumerate(specs):
        results.append(
            Result(
                market=market,
                spec=spec,
                venue_names=km.venue_names,
                inst_venue=km.inst_venue,
                steps=out.steps[c],
                stride=stride,
                full=record == "full",
                totals=out.totals[c],
                blotter=(out.blotter[0][c], out.blotter[1][c]),
                funding_ledger=(out.funding[0][c], out.funding[1][c]),
                roll_log=(out.rolls[0][c], out.rolls[1][c]),
                liquidation_log=(out.liquidations[0][c], out.liquidations[1][c]),
                event_log=(out.events[0][c], out.events[1][c]),
                config=dict(configs[c]) if configs else {},
            )
        )
    return results


def simulate(
    market: Market,
    spec: RunSpec | None = None,
    *,
    record: Literal["full", "summary"] = "full",
    config: dict[str, Any] | None = None,
    strategy: object | None = None,
) -> Result:
    """Run one configuration (default: long 1 ATM 30-day straddle, 0.05 band, on Binance).

    ``strategy``: a Python strategy (``decide(state) -> orders``,
    :mod:`gammaperp.strategies.protocol`) deciding at every bar besides the built-in one.
    """
    spec = spec or RunSpec()
    return simulate_batch(
        market, [spec], record=record, parallel=False, configs=[config or {}], strategy=strategy
    )[0]
