"""A run's results as pandas frames, and the run directory they are saved to.

A run directory holds::

    equity.parquet        per-step equity and its components (UTC index)
    trades.parquet        the blotter: every fill with fee and slippage separately
    funding.parquet       the funding ledger
    rolls.parquet         option opens, expiries, early closes, liquidations
    liquidations.parquet  liquidation events
    events.parquet        risk-overlay events (stops, pauses, transfers, caps)
    summary.json          totals and metrics (stable snake_case keys)
    config.json           the resolved configuration
    market.json           the data fingerprint and description of the input market

It is written into a temporary sibling directory and renamed into place at the end, so a run
that fails leaves no half-written directory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gammaperp.engine import enums as E
from gammaperp.errors import GammaperpError

if TYPE_CHECKING:  # pandas is imported lazily: summary-only runs never need it
    import pandas as pd

ASSUMPTIONS = (
    "Market orders fill at the bar close (plus the slippage model); there is no order book "
    "and no queue position.",
    "Limit orders fill only when the bar trades through the limit (low < limit for a buy), at "
    "the limit price, with no price improvement and no partial fills.",
    "Perps and spot are valued at the bar close; funding and margin checks use the mark price "
    "(close when no mark series is given).",
    "Options are European, valued with Black-Scholes (or Black-76) on the index price at the "
    "bar's implied vol; they trade at model value (no option bid/ask) plus the option fee.",
    "Options are cash-settled at expiry at intrinsic value on the index price of the expiry bar.",
    "Funding is settled at the first bar at or after each funding time, on the position held "
    "at that instant, at the mark price.",
    "Liquidation: when a venue's equity at mark (or at the bar's adverse high/low) falls below "
    "its maintenance margin, all its positions are closed at the exchange-formula liquidation "
    "price (bounded by the bar's range; at the open after a gap) with a liquidation fee.",
    "Latency delays fills by whole bars: an order decided at bar t fills at the first bar whose "
    "timestamp is at or after t + latency.",
    "Options are opened only if the venue can afford them: long premium, or the short options' "
    "initial margin (Deribit-style max(0.15 - OTM/S, 0.10) x S + mark per option).",
    "Market orders that would raise a venue's initial margin (notional / leverage) above its "
    "equity are rejected and counted (rejected_orders); limit fills are not checked.",
    "Short options carry Deribit-style maintenance margin (7.5 % of the underlying plus mark); "
    "long option premium is paid in full.",
)


def _ns_index(ns: np.ndarray) -> pd.DatetimeIndex:
    import pandas as pd

    return pd.DatetimeIndex(
        pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=True), name="ts"
    )


@dataclass
class Result:
    """One configuration's results. Frames are built lazily from the kernel arrays."""

    market: Any  # gammaperp.market.Market
    spec: Any  # gammaperp.engine.specs.RunSpec
    venue_names: tuple[str, ...]
    inst_venue: np.ndarray
    steps: np.ndarray  # (N_STEP, n_records): one column per ``stride`` bars
    totals: np.ndarray
    blotter: tuple[np.ndarray, np.ndarray]
    funding_ledger: tuple[np.ndarray, np.ndarray]
    roll_log: tuple[np.ndarray, np.ndarray]
    liquidation_log: tuple[np.ndarray, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    stride: int = 1
    full: bool = True
    event_log: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def record_bars(self) -> np.ndarray:
        """Bar index of each recorded row (the last bar of each ``stride`` block)."""
        n = self.market.n_bars
        return np.minimum(np.arange(self.steps.shape[1]) * self.stride + self.stride - 1, n - 1)

    # ---- summary -------------------------------------------------------------------------
    @cached_property
    def summary(self) -> dict[str, Any]:
        t = self.totals
        failed_bar = int(t[E.T_FAILED_BAR])
        n_hedges = int(t[E.T_N_TRADES])
        if self.full:
            n_bl = int(t[E.T_BLOTTER_N])
            n_hedges = int((self.blotter[0][:n_bl, 2] == E.R_HEDGE).sum())
        total = t[E.T_EQUITY_END] - t[E.T_EQUITY0]
        out = {
            "total_pnl": float(total),
            "option_pnl": float(t[E.T_OPT_PNL]),
            "perp_pnl": float(t[E.T_PERP_PNL]),
            "funding": float(t[E.T_FUNDING]),
            "fees": float(t[E.T_FEES]),
            "option_fees": float(t[E.T_OPT_FEES]),
            "slippage": float(t[E.T_SLIPPAGE]),
            "fx_pnl": float(t[E.T_FX]),
            "n_trades": int(t[E.T_N_TRADES]),
            "n_hedges": n_hedges,
            "n_option_rolls": int(t[E.T_N_ROLLS]),
            "liquidations": int(t[E.T_N_LIQ]),
            "rejected_orders": int(t[E.T_N_REJECTED]),
            "risk_events": int(t[E.T_EVENT_N]),
            "failed": failed_bar >= 0,
            "failed_at": (
                str(_ns_index([self.market.ts[failed_bar]])[0]) if failed_bar >= 0 else None
            ),
            "equity_start": float(t[E.T_EQUITY0]),
            "equity_end": float(t[E.T_EQUITY_END]),
            "max_abs_residual": float(t[E.T_MAX_RESID]),
            "max_margin_ratio": float(t[E.T_MAX_MARGIN_RATIO]),
            "bars": int(self.market.n_bars),
            "bars_run": int(t[E.T_BARS_RUN]),
        }
        return out

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """Every performance metric (``gammaperp.analytics.compute_metrics``), JSON-safe."""
        from gammaperp.analytics import compute_metrics

        return compute_metrics(self)

    @cached_property
    def attribution(self) -> pd.DataFrame:
        """Per-step P&L attribution: option delta/gamma/theta/vega P&L, hedge, funding, fees,
        slippage and the residual (``gammaperp.analytics.attribute_pnl``)."""
        from gammaperp.analytics import attribute_pnl

        return attribute_pnl(self).frame

    def plot(self, chart: str = "equity"):
        """An interactive plotly figure of the run, as in the HTML report: ``equity``,
        ``drawdown``, ``components`` (cumulative P&L by component), ``price`` (price with the
        hedge trades and net delta), ``funding``, ``margin`` or ``vol``."""
        from gammaperp.report import charts
        from gammaperp.report.data import as_run_data

        builders = {
            "equity": charts.equity_chart,
            "drawdown": charts.drawdown_chart,
            "components": charts.components_chart,
            "price": charts.price_hedges_chart,
            "funding": charts.funding_chart,
            "margin": charts.margin_chart,
            "vol": charts.vol_chart,
        }
        if chart not in builders:
            raise ValueError(f"chart must be one of {sorted(builders)}, got {chart!r}")
        return builders[chart](as_run_data(self))

    def summary_with_metrics(self) -> dict[str, Any]:
        """The engine's totals plus every metric: what ``summary.json`` holds."""
        out = {k: v for k, v in self.metrics.items()}
        out.update(self.summary)  # the engine's own totals are the reference values
        return out

    # ---- frames ----------------------------------------------------------------------------
    @cached_property
    def equity(self) -> pd.DataFrame:
        """Per-step equity (USD) and its components; ``residual`` is the accounting check."""
        import pandas as pd

        bars = self.record_bars
        df = pd.DataFrame(
            {name: self.steps[j] for j, name in enumerate(E.STEP_COLUMNS)},
            index=_ns_index(self.market.ts[bars]),
        )
        st = self.spec.strategy
        if st is not None:
            # the strategy's (first) instrument: straddle / scalp ``instrument``, carry and
            # pair ``long_instrument`` (on its venue)
            name = getattr(st, "instrument", None)
            if name is not None:
                venue = getattr(st, "venue", None) if hasattr(st, "max_inventory") else None
                oi = self.market.instrument_index(name, venue)
            else:
                oi = self.market.instrument_index(st.long_instrument, st.long_venue)
            df.insert(0, "price", self.market.index[oi, bars])
        return df

    def _inst_name(self, code: int) -> str:
        if code == E.OPT_CALL:
            return "call"
        if code == E.OPT_PUT:
            return "put"
        return self.market.instruments[code].name

    @cached_property
    def trades(self) -> pd.DataFrame:
        """The blotter: time, venue, instrument, side, qty, price, fee, slippage, reason."""
        import pandas as pd

        bi, bf = self.blotter
        n = int(self.totals[E.T_BLOTTER_N])
        bi, bf = bi[:n], bf[:n]
        bars = bi[:, 0]
        insts = bi[:, 1]
        qty = bf[:, 0]
        return pd.DataFrame(
            {
                "bar": bars,
                "venue": [self.venue_names[self.inst_venue[i]] for i in insts],
                "instrument": [self._inst_name(int(i)) for i in insts],
                "side": np.where(qty > 0, "buy", "sell"),
                "qty": qty,
                "price": bf[:, 1],
                "ref_price": bf[:, 2],
                "fee": bf[:, 3],
                "slippage": bf[:, 4],
                "reason": [E.REASONS.get(int(r), "?") for r in bi[:, 2]],
                "order_type": np.where(bi[:, 3] == E.ORDER_LIMIT, "limit", "market"),
                "decided_bar": bi[:, 4],
            },
            index=_ns_index(self.market.ts[bars]),
        )

    @cached_property
    def funding(self) -> pd.DataFrame:
        """Funding ledger: position, mark, rate and the payment received (negative: paid)."""
        import pandas as pd

        fi, ff = self.funding_ledger
        n = int(self.totals[E.T_FUNDING_N])
        fi, ff = fi[:n], ff[:n]
        return pd.DataFrame(
            {
                "bar": fi[:, 0],
                "venue": [self.venue_names[self.inst_venue[i]] for i in fi[:, 1]],
                "instrument": [self.market.instruments[i].name for i in fi[:, 1]],
                "position": ff[:, 0],
                "mark": ff[:, 1],
                "rate": ff[:, 2],
                "payment": ff[:, 3],
            },
            index=_ns_index(self.market.ts[fi[:, 0]]),
        )

    @cached_property
    def rolls(self) -> pd.DataFrame:
        """Option roll log: open / expire / close / liquidated, with strikes and cash flows."""
        import pandas as pd

        ri, rf = self.roll_log
        n = int(self.totals[E.T_ROLL_N])
        ri, rf = ri[:n], rf[:n]
        return pd.DataFrame(
            {
                "bar": ri[:, 0],
                "event": [E.ROLL_EVENTS[int(x)] for x in ri[:, 1]],
                "strike": rf[:, 0],
                "expiry": pd.to_datetime(rf[:, 1].astype(np.int64), unit="ns", utc=True),
                "call_qty": rf[:, 2],
                "put_qty": rf[:, 3],
                "underlying": rf[:, 4],
                "cash_flow": rf[:, 5],
            },
            index=_ns_index(self.market.ts[ri[:, 0]]),
        )

    @cached_property
    def liquidations(self) -> pd.DataFrame:
        import pandas as pd

        li, lf = self.liquidation_log
        n = int(self.totals[E.T_LIQ_N])
        li, lf = li[:n], lf[:n]
        return pd.DataFrame(
            {
                "bar": li[:, 0],
                "venue": [self.venue_names[v] for v in li[:, 1]],
                "instrument": [self.market.instruments[i].name for i in li[:, 2]],
                "qty": lf[:, 0],
                "price": lf[:, 1],
                "fee": lf[:, 2],
                "equity_before": lf[:, 3],
                "maint_margin": lf[:, 4],
            },
            index=_ns_index(self.market.ts[li[:, 0]]),
        )

    @cached_property
    def events(self) -> pd.DataFrame:
        """Risk-overlay events: time, bar, event (``gammaperp.engine.enums.EVENTS``),
        instrument (empty for portfolio-wide events), value and reference (see the enum)."""
        import pandas as pd

        if self.event_log is None:
            ei, ef = np.zeros((0, 3), np.int64), np.zeros((0, 2))
        else:
            ei, ef = self.event_log
        n = min(int(self.totals[E.T_EVENT_N]), ei.shape[0])
        ei, ef = ei[:n], ef[:n]
        names = [x.name for x in self.market.instruments]
        return pd.DataFrame(
            {
                "bar": ei[:, 0],
                "event": [E.EVENTS.get(int(x), "?") for x in ei[:, 1]],
                "instrument": [names[int(i)] if i >= 0 else "" for i in ei[:, 2]],
                "value": ef[:, 0],
                "ref": ef[:, 1],
            },
            index=_ns_index(self.market.ts[ei[:, 0]]),
        )

    # ---- persistence -----------------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the run directory atomically (temp dir + rename); returns its path."""
        out = Path(out_dir)
        if out.exists() and not overwrite:
            raise GammaperpError(f"{out}: already exists (pass overwrite to replace it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            self.equity.to_parquet(tmp / "equity.parquet")
            if self.full:
                self.trades.to_parquet(tmp / "trades.parquet")
                self.funding.to_parquet(tmp / "funding.parquet")
                self.rolls.to_parquet(tmp / "rolls.parquet")
                self.liquidations.to_parquet(tmp / "liquidations.parquet")
                self.events.to_parquet(tmp / "events.parquet")
            _write_json(tmp / "summary.json", self.summary_with_metrics())
            _write_json(tmp / "config.json", self.config)
            _write_json(tmp / "market.json", self.market.describe())
            _write_json(tmp / "assumptions.json", list(ASSUMPTIONS))
            if out.exists():
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                out.rename(old)
                tmp.rename(out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
