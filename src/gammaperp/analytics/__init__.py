"""Analytics on a run's results: performance metrics, greek P&L attribution, realised vs
implied volatility. Pure functions over a :class:`~gammaperp.results.result.Result`'s frames;
definitions and formulas in ``docs/analytics.md``.

>>> import gammaperp
>>> from gammaperp.analytics import compute_metrics, attribute_pnl
>>> res = gammaperp.run({"market": {"bars": 20_000}})        # doctest: +SKIP
>>> compute_metrics(res)["sharpe"], attribute_pnl(res).totals  # doctest: +SKIP
"""

from gammaperp.analytics.attribution import (
    Attribution,
    SlotSteps,
    attribute_pnl,
    option_slots,
    slot_steps,
    smile_vol,
)
from gammaperp.analytics.metrics import (
    annualized_return,
    annualized_volatility,
    calmar_ratio,
    capital_at_risk,
    capital_at_risk_frame,
    compute_metrics,
    daily_pnl,
    drawdown_stats,
    fifo_round_trips,
    funding_split,
    hedge_round_trips,
    hedge_trade_pnl,
    mark_to_next_pnl,
    monthly_pnl,
    monthly_summary,
    monthly_table,
    perp_positions,
    sharpe_ratio,
    sortino_ratio,
    time_in_market,
    turnover,
    win_rate,
)
from gammaperp.analytics.vol import (
    bars_per_year,
    close_to_close_vol,
    garman_klass_vol,
    parkinson_vol,
    realized_vs_implied,
    theoretical_gamma_pnl,
)

__all__ = [
    "Attribution",
    "SlotSteps",
    "annualized_return",
    "annualized_volatility",
    "attribute_pnl",
    "bars_per_year",
    "calmar_ratio",
    "capital_at_risk",
    "capital_at_risk_frame",
    "close_to_close_vol",
    "compute_metrics",
    "daily_pnl",
    "drawdown_stats",
    "fifo_round_trips",
    "funding_split",
    "garman_klass_vol",
    "hedge_round_trips",
    "hedge_trade_pnl",
    "mark_to_next_pnl",
    "monthly_pnl",
    "monthly_summary",
    "monthly_table",
    "option_slots",
    "parkinson_vol",
    "perp_positions",
    "realized_vs_implied",
    "sharpe_ratio",
    "slot_steps",
    "smile_vol",
    "sortino_ratio",
    "theoretical_gamma_pnl",
    "time_in_market",
    "turnover",
    "win_rate",
]
