"""Market model: every series aligned on one UTC nanosecond index, as flat numpy arrays.

The engine never sees pandas or exchange formats; it sees a :class:`Market`:

* ``ts`` - int64 nanoseconds since the Unix epoch (UTC), strictly increasing. For bars this is
  the bar's **close** time (kline open time + bar length): the moment its close is known.
* per instrument (perps and spot, one row each): ``close`` and optional ``open/high/low``
  (absent: open -> previous close, high/low -> the span of open and close), ``volume``
  (absent -> NaN), ``spread`` = ask - bid (absent -> NaN),
  ``mark`` and ``index`` (absent -> close; which series fell back is recorded in ``fallbacks``).
* per perp: funding events (timestamp, rate) on the venue's own schedule. An event applies at
  the first bar whose ``ts`` is at or after the event time (``funding_bar``).
* per underlying: implied volatility per bar (decimal, annualised), with an optional smile
  ``iv(K) = atm + skew * ln(K/S) + curvature * ln(K/S)**2``.
* optionally ``local_ts``: when the trader saw each step (feed latency); defaults to ``ts``.
"""

from gammaperp.market.model import Instrument, Market, MarketBuilder

__all__ = ["Instrument", "Market", "MarketBuilder"]
