"""Typed, frozen experiment configs (schema v1), read from TOML, YAML or JSON.

>>> from gammaperp.config import ExperimentConfig, load_config, dump_toml, config_fingerprint
>>> cfg = ExperimentConfig.model_validate({"hedge": {"band": 0.1}})
>>> cfg.hedge.band, cfg.venues[0].name
(0.1, 'binance')

* :func:`load_config` reads a file; every problem becomes one ``FILE: dotted.key: message`` line
  of a :class:`gammaperp.errors.ConfigError`. Relative paths in the file are resolved against
  the file's directory.
* :func:`validate_config` does the same for a dict (``ExperimentConfig.model_validate`` raises
  pydantic's ``ValidationError`` instead).
* :func:`config_to_dict`, :func:`dump_toml`, :func:`dump_json` give the fully resolved config;
  :func:`config_fingerprint` is the sha256 of its canonical JSON.
* :func:`apply_overrides` sets dotted keys (``hedge.band``, ``venues[0].leverage``).
* :func:`config_reference_markdown` generates the field reference in ``docs/config.md``.
"""

from gammaperp.config.dump import (
    apply_overrides,
    config_fingerprint,
    config_to_dict,
    dump_json,
    dump_toml,
    parse_override,
    to_toml,
)
from gammaperp.config.loader import format_validation_error, load_config, validate_config
from gammaperp.config.models import (
    HEDGE_TRIGGERS,
    SCHEMA_VERSION,
    STRATEGY_KINDS,
    CarryConfig,
    DeltaBandHedgeConfig,
    ExecutionConfig,
    ExperimentConfig,
    HedgeConfig,
    HedgeSpec,
    InstrumentConfig,
    MarketConfig,
    OutputConfig,
    PairConfig,
    RiskConfig,
    ScalpConfig,
    StraddleConfig,
    StrategyConfig,
    StrategySpec,
    VenueConfig,
    base_asset,
)
from gammaperp.config.reference import config_reference_markdown

__all__ = [
    "HEDGE_TRIGGERS",
    "SCHEMA_VERSION",
    "STRATEGY_KINDS",
    "CarryConfig",
    "DeltaBandHedgeConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "HedgeConfig",
    "HedgeSpec",
    "InstrumentConfig",
    "MarketConfig",
    "OutputConfig",
    "PairConfig",
    "RiskConfig",
    "ScalpConfig",
    "StraddleConfig",
    "StrategyConfig",
    "StrategySpec",
    "VenueConfig",
    "apply_overrides",
    "base_asset",
    "config_fingerprint",
    "config_reference_markdown",
    "config_to_dict",
    "dump_json",
    "dump_toml",
    "format_validation_error",
    "load_config",
    "parse_override",
    "to_toml",
    "validate_config",
]
