"""Seeded synthetic markets: the offline default market of gammaperp.

``generate(preset, seed=...)`` returns a :class:`SyntheticMarket` holding canonical
:class:`~gammaperp.data.frames.Series` (1-minute perp OHLCV with mark and index, 8-hourly
funding, hourly implied vol), the regime label per bar and the resolved parameters. The
low-level functions (``gbm_path``, ``merton_path``, ``heston_path``, ``regime_switching_path``,
``funding_process``, ``iv_process``, ``bridge_ohlc``) work on plain numpy arrays.

Models, parameters, presets and limits: ``docs/synthetic.md``.
"""

from __future__ import annotations

from gammaperp.data.synthetic.market import (
    GENERATOR_VERSION,
    SyntheticMarket,
    beta_path,
    generate,
    stationary_distribution,
)
from gammaperp.data.synthetic.models import (
    SECONDS_PER_YEAR,
    MertonPath,
    bridge_ohlc,
    funding_process,
    gbm_path,
    heston_path,
    iv_process,
    merton_path,
    regime_forward_variance,
    regime_generator,
    regime_switching_path,
    regime_transition_matrix,
    year_fraction,
)
from gammaperp.data.synthetic.presets import (
    DEFAULT_PRESET,
    MODELS,
    PRESETS,
    REGIME_NAMES,
    Preset,
    Regime,
    SyntheticParams,
    get_preset,
    list_presets,
    param_docs,
    resolve_params,
    switch_matrix,
)

__all__ = [
    "DEFAULT_PRESET",
    "GENERATOR_VERSION",
    "MODELS",
    "PRESETS",
    "REGIME_NAMES",
    "SECONDS_PER_YEAR",
    "MertonPath",
    "Preset",
    "Regime",
    "SyntheticMarket",
    "SyntheticParams",
    "beta_path",
    "bridge_ohlc",
    "funding_process",
    "gbm_path",
    "generate",
    "get_preset",
    "heston_path",
    "iv_process",
    "list_presets",
    "merton_path",
    "param_docs",
    "regime_forward_variance",
    "regime_generator",
    "regime_switching_path",
    "regime_transition_matrix",
    "resolve_params",
    "stationary_distribution",
    "switch_matrix",
    "year_fraction",
]
