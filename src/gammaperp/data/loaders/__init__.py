"""Loaders: every supported market-data format -> :class:`gammaperp.data.frames.Series`.

One module per format family; :func:`load` is the single entry point that detects the format
(from content and name) when ``fmt`` is not given, and :func:`formats` lists what is
supported. Every loader reads ``.gz`` and ``.zip`` transparently, returns UTC-indexed
canonical frames, sorts newest-first sources ascending, and raises
:class:`gammaperp.errors.DataError` naming the file, row (1-based source line) and column
for malformed input. The formats, units and rules are documented in ``docs/data-formats.md``.
"""

from gammaperp.data.loaders.binance import (
    load_binance_funding,
    load_binance_funding_web,
    load_binance_klines,
)
from gammaperp.data.loaders.binance_ws import load_binance_ws
from gammaperp.data.loaders.ccxt import load_ccxt_funding
from gammaperp.data.loaders.cryptodatadownload import load_cryptodatadownload
from gammaperp.data.loaders.deribit import load_deribit_dvol, load_deribit_option_chain
from gammaperp.data.loaders.freqtrade import load_freqtrade
from gammaperp.data.loaders.generic import load_generic
from gammaperp.data.loaders.registry import (
    FormatInfo,
    describe_formats,
    detect_format,
    formats,
    load,
)
from gammaperp.data.loaders.shared import (
    load_funding_ft_csv,
    load_funding_history_csv,
    load_funding_pct_csv,
    load_multi_venue_8h,
    load_shared_ohlcv,
)
from gammaperp.data.loaders.tardis import load_tardis

__all__ = [
    "FormatInfo",
    "describe_formats",
    "detect_format",
    "formats",
    "load",
    "load_binance_funding",
    "load_binance_funding_web",
    "load_binance_klines",
    "load_binance_ws",
    "load_ccxt_funding",
    "load_cryptodatadownload",
    "load_deribit_dvol",
    "load_deribit_option_chain",
    "load_freqtrade",
    "load_funding_ft_csv",
    "load_funding_history_csv",
    "load_funding_pct_csv",
    "load_generic",
    "load_multi_venue_8h",
    "load_shared_ohlcv",
    "load_tardis",
]
