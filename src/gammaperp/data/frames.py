"""The canonical in-memory form of every market-data series.

All layers above ``data`` (market alignment, store, engine) consume these frames, never raw
exchange formats.

Canonical frames, by ``kind`` (index: ``pd.DatetimeIndex`` named ``ts``, tz UTC, strictly
increasing unless a validation report says otherwise; all numeric columns float64):

``ohlcv``
    ``open, high, low, close, volume`` (volume in base-asset units unless ``meta["volume_unit"]``
    says otherwise). Optional: ``mark``, ``index``, ``bid``, ``ask``, ``quote_volume``,
    ``n_trades``. The timestamp is the bar's **open** time; ``meta["bar_seconds"]`` is its length.
``funding``
    ``rate``: decimal rate per funding interval (0.0001 == 0.01 %), timestamp = settlement
    time. Optional ``mark``. ``meta["interval_hours"]`` is the venue's nominal interval.
``iv``
    ``iv``: annualised implied volatility as a decimal (0.6 == 60 %), e.g. Deribit DVOL close.
    Optional ``iv_open, iv_high, iv_low``.
``option_chain``
    One row per listed option: ``instrument, expiry (UTC datetime), strike, option_type``
    ("call"/"put"), ``underlying_price, index_price`` (USD), ``mark_price, bid_price,
    ask_price`` (in the quote unit named by ``meta["premium_unit"]``: "coin" for Deribit),
    ``mark_iv, bid_iv, ask_iv`` (decimal), ``delta, gamma, vega, theta`` (venue conventions,
    documented by the loader), ``open_interest``.
``trades``
    ``price, qty`` (base units), ``side`` (+1 buyer-initiated, -1 seller-initiated); optional
    ``local_ts`` (int64 ns, when the trader saw it).
``quotes``
    ``bid, ask, bid_qty, ask_qty``; optional ``local_ts``.
``mark``
    ``mark``, optional ``index``, ``funding_rate`` (the venue's running estimate); optional
    ``local_ts``.
``depth``
    One row per price-level change (a flat long frame): ``side`` (+1 bid, -1 ask), ``price``,
    ``qty`` (0 removes the level), ``is_snapshot`` (1.0 for rows of a full book snapshot);
    optional update ids ``first_update_id, last_update_id, prev_update_id`` (float64, exact
    below 2**53) and ``local_ts``.

Optional columns and meta keys written by the loaders (``gammaperp.data.loaders``; see
docs/data-formats.md). Columns are float64 unless stated:

* ohlcv: ``contracts`` (contract count of coin-margined products, whose ``volume`` is then
  the base-asset volume), ``taker_buy_volume``, ``taker_buy_quote_volume``; ``synthetic``
  (bool, rows inserted by the ``ffill`` gap policy of ``gammaperp.data.validate``).
  meta ``price_type`` ("mark", "index", "premium_index" for non-trade candles; a premium
  index may be negative), ``volume_unit`` ("base", "quote", "unverified"),
  ``last_bar_may_be_incomplete`` (bool).
* funding: ``interval_hours`` (per-row interval when the source gives it); meta
  ``rate_unit`` (the unit the source used), ``source_symbol``.
* iv: meta ``source_unit`` ("percent" for DVOL), ``index`` ("DVOL").
* option_chain: ``bid_qty, ask_qty, rho, last_price, interest_rate``, ``underlying_index``
  (str), ``local_ts``; meta ``iv_source_unit``.
* trades: ``trade_id``. quotes: ``update_id``; book snapshots keep every level as
  ``bid_price_{i}, bid_qty_{i}, ask_price_{i}, ask_qty_{i}`` (i = 0 is the top of book).
* mark: ``est_settle_price``, ``predicted_funding_rate``, ``open_interest``, ``last_price``,
  ``next_funding_ts`` (UTC datetime column, NaT when unknown).
* any kind: ``local_ts`` is int64 ns since the epoch. meta ``format`` (the loader's format
  name), ``source_order`` ("ascending" or "descending" as found in the file), ``ts_unit``
  (epoch unit detected), ``bar_seconds`` (ohlcv/iv), ``interval_hours`` (funding),
  ``segment`` / ``n_segments`` (``split`` gap policy), ``n_synthetic`` (``ffill``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

Kind = Literal["ohlcv", "funding", "iv", "option_chain", "trades", "quotes", "mark", "depth"]
MarketType = Literal["spot", "perp", "inverse_perp", "future", "option", "index"]

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "ohlcv": ("open", "high", "low", "close", "volume"),
    "funding": ("rate",),
    "iv": ("iv",),
    "option_chain": ("instrument", "expiry", "strike", "option_type", "mark_price"),
    "trades": ("price", "qty", "side"),
    "quotes": ("bid", "ask"),
    "mark": ("mark",),
    "depth": (),
}


@dataclass(frozen=True)
class Series:
    """One loaded series: a canonical frame plus what it is and where it came from."""

    kind: Kind
    venue: str  # lower-case venue id: "binance", "bybit", "deribit", "okx", "synthetic", ...
    symbol: str  # venue-neutral upper-case symbol: "BTCUSDT", "ETHUSDT", "BTCUSD", "BTC"
    market: MarketType
    frame: pd.DataFrame
    source: str = ""  # file path or URL it was read from ("" for generated data)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Catalog key, e.g. ``binance:BTCUSDT:perp:ohlcv``."""
        return f"{self.venue}:{self.symbol}:{self.market}:{self.kind}"

    def __len__(self) -> int:
        return len(self.frame)
