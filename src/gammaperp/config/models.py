"""Schema v1 of an experiment config: frozen, typed pydantic models.

Every field carries a default, a unit and a one-line meaning (``Field(description=...)`` plus
``json_schema_extra={"unit": ..., "doc": ...}``); ``docs/config.md`` is generated from them by
:func:`gammaperp.config.reference.config_reference_markdown`.

Checks that involve several keys (a maker rebate larger than the taker fee, ``source = "files"``
without an OHLCV file, a hedge venue that is not configured...) raise a ``combination`` error
whose message is one ``relative.key: explanation`` line per problem; the loader turns those into
``file: full.dotted.key: explanation`` lines.

Strategies and hedge triggers are discriminated unions on ``kind`` / ``trigger``: to add a
kind, write a model that subclasses :class:`StrategyConfig` (or :class:`HedgeConfig`) with a
``Literal`` tag and add it to :data:`STRATEGY_KINDS` (or :data:`HEDGE_TRIGGERS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "HEDGE_TRIGGERS",
    "MAINTENANCE_TIER_TABLES",
    "SCHEMA_VERSION",
    "STRATEGY_KINDS",
    "DeltaBandHedgeConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "HedgeConfig",
    "HedgeSpec",
    "MarketConfig",
    "OutputConfig",
    "StraddleConfig",
    "StrategyConfig",
    "StrategySpec",
    "VenueConfig",
    "base_asset",
]

SCHEMA_VERSION = 1
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

#: Maintenance-margin tier tables the engine knows, with the base asset each applies to
#: (``None``: any asset) and the contract type they are defined for.
MAINTENANCE_TIER_TABLES: dict[str, tuple[str | None, str | None]] = {
    "binance-usdm-btc": ("BTC", "linear"),
    "binance-usdm-eth": ("ETH", "linear"),
    "flat": (None, None),
}

_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD")


def base_asset(symbol: str) -> str:
    """Base asset of a market symbol: ``BTCUSDT``, ``BTCUSD_PERP``, ``BTC-PERPETUAL``,
    ``ETH/USDT:USDT`` -> ``BTC``/``BTC``/``BTC``/``ETH``. Unknown shapes return the symbol."""
    head = re.split(r"[^A-Za-z0-9]", symbol.strip().upper(), maxsplit=1)[0]
    for quote in _QUOTES:
        if head.endswith(quote) and len(head) > len(quote):
            return head[: -len(quote)]
    return head


def _field(
    default: Any = ...,
    *,
    unit: str,
    doc: str,
    strict: bool | None = None,
    default_factory: Callable[[], Any] | None = None,
    **constraints: Any,
) -> Any:
    """A documented field: meaning and unit go into the description and the JSON schema."""
    extra = {"unit": unit, "doc": doc}
    if strict is not None:
        constraints["strict"] = strict
    description = f"{doc} Unit: {unit}."
    if default_factory is not None:
        return Field(
            default_factory=default_factory,
            description=description,
            json_schema_extra=extra,
            **constraints,
        )
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def _combination(problems: list[tuple[str, str]]) -> None:
    """Raise one ``combination`` error holding one ``key: message`` line per problem."""
    if problems:
        detail = "\n".join(f"{key}: {msg}" for key, msg in problems)
        raise PydanticCustomError("combination", "{detail}", {"detail": detail})


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Expand ``~`` and make a relative path relative to the config file's directory."""
    if value is None:
        return None
    if str(value).strip() in ("", "."):
        raise ValueError("path must not be empty")
    path = value.expanduser()
    context = info.context if isinstance(info.context, Mapping) else {}
    base = context.get("base_dir")
    if base is not None and not path.is_absolute():
        path = Path(os.path.normpath(Path(base) / path))
    return path


class _Frozen(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, allow_inf_nan=False, validate_default=True
    )


# --------------------------------------------------------------------------------------------
# market


class MarketConfig(_Frozen):
    """Where prices, funding and implied vol come from."""

    source: Literal["synthetic", "files", "store"] = _field(
        "synthetic",
        unit="choice",
        doc="`synthetic`: generate a path from `preset`; `files`: read `ohlcv` (and "
        "`funding`, `iv`) from disk; `store`: read `symbol` from the data store "
        "(`gammaperp data import`), over `window` or `start` + `bars`.",
    )
    preset: str = _field(
        "sideways-volatile",
        unit="name",
        doc="Synthetic market preset (used when source = synthetic).",
        min_length=1,
    )
    bars: int = _field(
        129_600,
        unit="bars",
        doc="Number of synthetic bars (129600 = 90 days of minutes).",
        ge=2,
    )
    bar_seconds: int = _field(60, unit="seconds", doc="Length of one bar.", gt=0)
    start: datetime = _field(
        DEFAULT_START,
        unit="UTC timestamp",
        doc="Time of the first synthetic bar; must carry a UTC offset (`Z` or `+00:00`); "
        "stored in UTC.",
        strict=False,
    )
    s0: float | None = _field(
        None,
        unit="USD per coin",
        doc="Initial synthetic spot price; unset: the preset's own.",
        gt=0,
    )
    symbol: str = _field(
        "BTCUSDT", unit="symbol", doc="Underlying market symbol (its base asset).", min_length=1
    )
    ohlcv: Path | None = _field(
        None,
        unit="path",
        doc="OHLCV file (required when source = files); relative to the config file.",
        strict=False,
    )
    funding: Path | None = _field(
        None,
        unit="path",
        doc="Funding-rate file; relative to the config file. Unset: `funding_constant` or "
        "the synthetic model.",
        strict=False,
    )
    iv: Path | None = _field(
        None,
        unit="path",
        doc="Implied-vol file (e.g. Deribit DVOL); relative to the config file.",
        strict=False,
    )
    iv_constant: float | None = _field(
        None,
        unit="decimal per year",
        doc="Constant implied vol instead of an IV series (0.6 = 60%).",
        gt=0,
        le=5,
    )
    iv_scale: float = _field(
        1.0,
        unit="multiplier",
        doc="Multiplies the IV series (loaders already turn DVOL percent into decimals).",
        gt=0,
    )
    iv_skew: float = _field(
        0.0,
        unit="vol per unit ln(K/S)",
        doc="Smile slope: iv(K) = atm + skew * ln(K/S) + curvature * ln(K/S)^2.",
        ge=-5,
        le=5,
    )
    iv_curvature: float = _field(
        0.0,
        unit="vol per unit ln(K/S)^2",
        doc="Smile curvature (see iv_skew).",
        ge=-50,
        le=50,
    )
    funding_constant: float | None = _field(
        None,
        unit="decimal per funding interval",
        doc="Constant funding rate instead of a funding series (0.0001 = 1 bp).",
        ge=-0.05,
        le=0.05,
    )
    funding_interval_hours: float = _field(
        8.0, unit="hours", doc="Time between funding payments.", gt=0, le=24
    )
    gap_policy: Literal["fail", "split", "ffill"] = _field(
        "fail",
        unit="choice",
        doc="What to do with holes in the data: fail, split into segments, forward-fill.",
    )
    window: str | None = _field(
        None,
        unit="name",
        doc="Optional named historical window selecting the span of the data.",
        min_length=1,
    )

    @field_validator("start", mode="after")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} has no UTC offset; "
                "write e.g. 2024-01-01T00:00:00Z or 2024-01-01T00:00:00+00:00"
            )
        return value.astimezone(UTC)

    @field_validator("ohlcv", "funding", "iv", mode="after")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _combinations(self) -> MarketConfig:
        problems: list[tuple[str, str]] = []
        if self.source == "files" and self.ohlcv is None:
            problems.append(("ohlcv", 'source = "files" needs an ohlcv file (market.ohlcv)'))
        if self.source != "files" and self.ohlcv is not None:
            problems.append(
                ("ohlcv", f'is only read when source = "files" (source is "{self.source}")')
            )
        if self.window is not None and self.source == "synthetic":
            problems.append(
                ("window", 'a named window selects real data: use source = "store" or "files"')
            )
        if self.iv is not None and self.iv_constant is not None:
            problems.append(("iv_constant", "set either iv (a file) or iv_constant, not both"))
        if self.funding is not None and self.funding_constant is not None:
            problems.append(
                ("funding_constant", "set either funding (a file) or funding_constant, not both")
            )
        _combination(problems)
        return self


# --------------------------------------------------------------------------------------------
# venues


class VenueConfig(_Frozen):
    """One perpetual-futures venue: fees, margin, contract specification, liquidation."""

    name: str = _field("binance", unit="name", doc="Venue name (unique).", min_length=1)
    taker_fee_bps: float = _field(
        4.0, unit="bps of notional", doc="Fee on fills that take liquidity.", ge=0, le=100
    )
    maker_fee_bps: float = _field(
        2.0,
        unit="bps of notional",
        doc="Fee on fills that add liquidity; negative = rebate.",
        ge=-10,
        le=100,
    )
    margin_mode: Literal["cross", "isolated"] = _field(
        "cross", unit="choice", doc="Margin mode of the hedge position."
    )
    leverage: float = _field(
        10.0, unit="x", doc="Leverage; initial margin = notional / leverage.", ge=1, le=125
    )
    initial_capital: float = _field(
        100_000.0,
        unit="settlement currency (USDT for linear, coin for inverse)",
        doc="Starting margin balance on this venue.",
        gt=0,
    )
    perp_symbol: str = _field(
        "BTCUSDT", unit="symbol", doc="Perpetual used for hedging.", min_length=1
    )
    contract_type: Literal["linear", "inverse"] = _field(
        "linear",
        unit="choice",
        doc="linear: USDT-margined, PnL in USDT; inverse: coin-margined, PnL in coin.",
    )
    contract_size: float = _field(
        1.0,
        unit="coin per contract (linear) or USD per contract (inverse)",
        doc="Contract multiplier, e.g. 100 USD for BTCUSD_PERP.",
        gt=0,
    )
    tick_size: float = _field(0.1, unit="USD", doc="Price increment.", gt=0)
    lot_size: float = _field(
        0.001, unit="contracts", doc="Quantity increment of hedge orders.", gt=0
    )
    liquidation_fee_bps: float = _field(
        50.0,
        unit="bps of notional",
        doc="Fee charged on a liquidated position.",
        ge=0,
        le=500,
    )
    on_liquidation: Literal["stop", "continue"] = _field(
        "stop", unit="choice", doc="After a liquidation: stop the run or keep going."
    )
    maintenance_tiers: Literal["binance-usdm-btc", "binance-usdm-eth", "flat"] = _field(
        "binance-usdm-btc",
        unit="choice",
        doc="Maintenance-margin tier table; `flat` uses `flat_mmr` at every size.",
    )
    flat_mmr: float = _field(
        0.005,
        unit="decimal of notional",
        doc="Maintenance margin rate when maintenance_tiers = flat.",
        gt=0,
        lt=0.5,
    )

    @model_validator(mode="after")
    def _combinations(self) -> VenueConfig:
        problems: list[tuple[str, str]] = []
        if -self.maker_fee_bps > self.taker_fee_bps:
            problems.append(
                (
                    "maker_fee_bps",
                    f"maker rebate {-self.maker_fee_bps:g} bps is larger than "
                    f"taker_fee_bps {self.taker_fee_bps:g} bps",
                )
            )
        if self.maintenance_tiers == "flat" and self.flat_mmr >= 1.0 / self.leverage:
            problems.append(
                (
                    "flat_mmr",
                    f"maintenance rate {self.flat_mmr:g} must be below the initial margin "
                    f"rate 1/leverage = {1.0 / self.leverage:g}",
                )
            )
        asset, ctype = MAINTENANCE_TIER_TABLES[self.maintenance_tiers]
        if ctype is not None and ctype != self.contract_type:
            problems.append(
                (
                    "maintenance_tiers",
                    f"{self.maintenance_tiers!r} is for {ctype} contracts but contract_type "
                    f"is {self.contract_type!r}; use 'flat'",
                )
            )
        elif asset is not None and base_asset(self.perp_symbol) != asset:
            problems.append(
                (
                    "maintenance_tiers",
                    f"{self.maintenance_tiers!r} is for {asset} but perp_symbol is "
                    f"{self.perp_symbol!r}",
                )
            )
        _combination(problems)
        return self


# --------------------------------------------------------------------------------------------
# execution


class ExecutionConfig(_Frozen):
    """Slippage and latency models applied to hedge orders."""

    slippage_model: Literal["none", "fixed_bps", "half_spread", "vol_scaled", "sqrt_impact"] = (
        _field("none", unit="choice", doc="How fill prices deviate from the reference price.")
    )
    slippage_bps: float = _field(
        0.0, unit="bps of price", doc="Slippage of the fixed_bps model.", ge=0
    )
    vol_slippage_k: float = _field(
        0.1,
        unit="multiple of per-bar volatility",
        doc="vol_scaled model: slippage = k x bar volatility.",
        ge=0,
    )
    impact_k: float = _field(
        0.1,
        unit="multiple of volatility x sqrt(size / volume)",
        doc="sqrt_impact model coefficient.",
        ge=0,
    )
    latency_model: Literal["constant", "lognormal"] = _field(
        "constant", unit="choice", doc="Order latency distribution."
    )
    latency_ms: float = _field(
        0.0, unit="milliseconds", doc="Order latency (median for lognormal).", ge=0
    )
    latency_sigma: float = _field(
        0.5, unit="log-space standard deviation", doc="Dispersion of lognormal latency.", ge=0
    )
    latency_vol_widening: float = _field(
        0.0,
        unit="multiplier per unit of volatility z-score",
        doc="Extra latency in volatile bars.",
        ge=0,
    )


# --------------------------------------------------------------------------------------------
# strategy (discriminated on `kind`)


class _Abstract(_Frozen):
    @model_validator(mode="before")
    @classmethod
    def _not_abstract(cls, data: Any) -> Any:
        if cls in (StrategyConfig, HedgeConfig):
            kinds = STRATEGY_KINDS if cls is StrategyConfig else HEDGE_TRIGGERS
            names = ", ".join(v.__name__ for v in kinds.values())
            raise TypeError(f"{cls.__name__} is abstract; build one of: {names}")
        return data


class StrategyConfig(_Abstract):
    """Base of every strategy kind (abstract; see :data:`STRATEGY_KINDS`)."""

    kind: str


class StraddleConfig(StrategyConfig):
    """Buy (long) or sell (short) an ATM straddle and delta-hedge it with the perp."""

    kind: Literal["straddle"] = _field(
        "straddle", unit="choice", doc="Strategy kind (discriminator)."
    )
    side: Literal["long", "short"] = _field(
        "long", unit="choice", doc="long = buy options (long gamma); short = sell them."
    )
    quantity: float = _field(
        1.0,
        unit="coin (straddles)",
        doc="Straddles held: 1 = one call + one put on 1 coin.",
        gt=0,
    )
    expiry_days: float = _field(30.0, unit="days", doc="Option time to expiry at entry.", gt=0)
    strike: Literal["atm"] = _field(
        "atm", unit="choice", doc="Strike selection: at the money at entry."
    )
    roll_days_before: float = _field(
        0.0,
        unit="days",
        doc="Roll into a new straddle this long before expiry (0: hold to expiry).",
        ge=0,
    )
    option_settlement: Literal["linear", "inverse"] = _field(
        "linear",
        unit="choice",
        doc="linear: premium in USD; inverse: coin-settled (Deribit style), premium in coin.",
    )
    option_fee_bps: float = _field(
        0.0, unit="bps of underlying notional", doc="Fee per option trade.", ge=0
    )
    pricing_model: Literal["bs", "black76"] = _field(
        "bs", unit="choice", doc="bs: Black-Scholes on spot; black76: Black on the forward."
    )
    rate: float = _field(
        0.0, unit="decimal per year", doc="Risk-free rate used in pricing.", ge=-0.1, le=1
    )

    @model_validator(mode="after")
    def _combinations(self) -> StraddleConfig:
        if self.roll_days_before >= self.expiry_days:
            _combination(
                [
                    (
                        "roll_days_before",
                        f"{self.roll_days_before:g} days must be less than expiry_days "
                        f"{self.expiry_days:g}",
                    )
                ]
            )
        return self


# --------------------------------------------------------------------------------------------
# hedge (discriminated on `trigger`)


class HedgeConfig(_Abstract):
    """Base of every hedge trigger (abstract; see :data:`HEDGE_TRIGGERS`)."""

    trigger: str


class DeltaBandHedgeConfig(HedgeConfig):
    """Hedge when the net delta leaves a band around zero."""

    trigger: Literal["delta_band"] = _field(
        "delta_band", unit="choice", doc="Hedge trigger (discriminator)."
    )
    band: float = _field(
        0.05,
        unit="coin delta",
        doc="Hedge when |net delta| exceeds this band.",
        gt=0,
    )
    target: Literal["zero", "edge"] = _field(
        "zero", unit="choice", doc="Trade back to zero delta or only to the band's edge."
    )
    order_type: Literal["market", "limit"] = _field(
        "market", unit="choice", doc="Order type of hedge trades."
    )
    limit_offset_bps: float = _field(
        0.0,
        unit="bps of price",
        doc="Limit orders: distance from the reference price on the passive side.",
        ge=0,
    )
    venue: str | None = _field(
        None, unit="name", doc="Venue to hedge on; unset: the first venue.", min_length=1
    )
    triggers: tuple[Literal["band", "price", "time", "whalley_wilmott"], ...] = _field(
        ("band",),
        unit="choices",
        doc="Combinable conditions that trigger a hedge: band (|net delta| > band), price "
        "(a move since the last hedge), time (an interval since the last hedge), "
        "whalley_wilmott (|net delta| > the Whalley-Wilmott band).",
        min_length=1,
        strict=False,
    )
    price_move_usd: float | None = _field(
        None, unit="USD", doc="Price trigger: hedge after this move since the last hedge.", gt=0
    )
    price_move_pct: float | None = _field(
        None,
        unit="fraction",
        doc="Price trigger: hedge after this relative move (0.01 = 1 %) since the last hedge.",
        gt=0,
        lt=1,
    )
    interval_minutes: float | None = _field(
        None, unit="minutes", doc="Time trigger: hedge this long after the last hedge.", gt=0
    )
    leland: bool = _field(
        False,
        unit="flag",
        doc="Hedge deltas with Leland's cost-adjusted vol: sigma^2 -/+ sqrt(2/pi) k sigma / "
        "sqrt(dt), k = twice the taker fee, dt = leland_interval_minutes or interval_minutes.",
    )
    leland_interval_minutes: float | None = _field(
        None, unit="minutes", doc="Leland's hedge interval dt (default: interval_minutes).", gt=0
    )
    risk_aversion: float | None = _field(
        None,
        unit="1/USD",
        doc="Whalley-Wilmott band: risk aversion (band = (1.5 fee S Gamma^2 / this)^(1/3)).",
        gt=0,
    )

    @model_validator(mode="after")
    def _combinations(self) -> DeltaBandHedgeConfig:
        problems: list[tuple[str, str]] = []
        if "price" in self.triggers and not (self.price_move_usd or self.price_move_pct):
            problems.append(
                ("price_move_pct", 'trigger "price" needs price_move_usd or price_move_pct')
            )
        if "time" in self.triggers and self.interval_minutes is None:
            problems.append(("interval_minutes", 'trigger "time" needs interval_minutes'))
        if "whalley_wilmott" in self.triggers and self.risk_aversion is None:
            problems.append(("risk_aversion", 'trigger "whalley_wilmott" needs risk_aversion'))
        if self.leland and not (self.leland_interval_minutes or self.interval_minutes):
            problems.append(("leland_interval_minutes", "leland needs a hedge interval"))
        if problems:
            _combination(problems)
        if self.order_type == "market" and self.limit_offset_bps > 0:
            _combination(
                [
                    (
                        "limit_offset_bps",
                        f"{self.limit_offset_bps:g} bps only applies to order_type = "
                        '"limit" (order_type is "market")',
                    )
                ]
            )
        return self


# --------------------------------------------------------------------------------------------
# output


class OutputConfig(_Frozen):
    """Where and how much to record."""

    dir: Path | None = _field(
        None,
        unit="path",
        doc="Run directory; relative to the config file; unset: chosen by the command.",
        strict=False,
    )
    record: Literal["full", "summary"] = _field(
        "full", unit="choice", doc="full: every bar, fill and funding event; summary: totals."
    )
    overwrite: bool = _field(False, unit="flag", doc="Replace an existing run directory.")

    @field_validator("dir", mode="after")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)


# --------------------------------------------------------------------------------------------
# discriminated unions


class KindDispatch:
    """Callable discriminator: reads ``key`` from a dict (``default`` when absent) or a model."""

    def __init__(self, key: str, variants: Mapping[str, type[BaseModel]], default: str) -> None:
        self.key = key
        self.variants = dict(variants)
        self.default = default
        self.__name__ = key  # pydantic names the discriminator in its messages

    def __call__(self, value: Any) -> str | None:
        if isinstance(value, Mapping):
            tag = value.get(self.key, self.default)
            return tag if isinstance(tag, str) else repr(tag)
        return getattr(value, self.key, None)

    def __repr__(self) -> str:  # shows up in pydantic's messages
        return self.key


#: Strategy kinds by their ``kind`` tag.
STRATEGY_KINDS: dict[str, type[StrategyConfig]] = {"straddle": StraddleConfig}
#: Hedge triggers by their ``trigger`` tag.
HEDGE_TRIGGERS: dict[str, type[HedgeConfig]] = {"delta_band": DeltaBandHedgeConfig}

STRATEGY_DISPATCH = KindDispatch("kind", STRATEGY_KINDS, "straddle")
HEDGE_DISPATCH = KindDispatch("trigger", HEDGE_TRIGGERS, "delta_band")

StrategySpec = Annotated[
    Union[tuple(Annotated[m, Tag(k)] for k, m in STRATEGY_KINDS.items())],  # noqa: UP007
    Discriminator(STRATEGY_DISPATCH),
]
HedgeSpec = Annotated[
    Union[tuple(Annotated[m, Tag(k)] for k, m in HEDGE_TRIGGERS.items())],  # noqa: UP007
    Discriminator(HEDGE_DISPATCH),
]


# --------------------------------------------------------------------------------------------
# the experiment


class ExperimentConfig(_Frozen):
    """One backtest: market, venues, execution, strategy, hedge policy and output."""

    name: str = _field("gammaperp-run", unit="name", doc="Run name.", min_length=1)
    seed: int = _field(7, unit="integer", doc="Seed of every random draw in the run.", ge=0)
    market: MarketConfig = _field(
        unit="table", doc="Market data.", default_factory=MarketConfig, strict=False
    )
    venues: tuple[VenueConfig, ...] = _field(
        unit="array of tables",
        doc="Perp venues; the first is the default hedge venue.",
        default_factory=lambda: (VenueConfig(),),
        strict=False,
        min_length=1,
    )
    execution: ExecutionConfig = _field(
        unit="table", doc="Slippage and latency.", default_factory=ExecutionConfig, strict=False
    )
    strategy: StrategySpec = _field(
        unit="table", doc="Option position.", default_factory=StraddleConfig, strict=False
    )
    hedge: HedgeSpec = _field(
        unit="table", doc="Hedge policy.", default_factory=DeltaBandHedgeConfig, strict=False
    )
    output: OutputConfig = _field(
        unit="table", doc="Recording.", default_factory=OutputConfig, strict=False
    )

    @property
    def hedge_venue(self) -> VenueConfig:
        """The venue hedges go to: ``hedge.venue`` or the first venue."""
        wanted = getattr(self.hedge, "venue", None)
        for venue in self.venues:
            if wanted is None or venue.name == wanted:
                return venue
        raise KeyError(wanted)  # unreachable: validated

    @model_validator(mode="after")
    def _combinations(self) -> ExperimentConfig:
        problems: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for i, venue in enumerate(self.venues):
            if venue.name in seen:
                problems.append(
                    (
                        f"venues[{i}].name",
                        f"duplicate venue name {venue.name!r} (also venues[{seen[venue.name]}])",
                    )
                )
            else:
                seen[venue.name] = i
        wanted = getattr(self.hedge, "venue", None)
        if wanted is not None and wanted not in seen:
            problems.append(
                (
                    "hedge.venue",
                    f"{wanted!r} is not a configured venue; venues: {', '.join(seen)}",
                )
            )
        asset = base_asset(self.market.symbol)
        for i, venue in enumerate(self.venues):
            perp_asset = base_asset(venue.perp_symbol)
            if perp_asset != asset:
                problems.append(
                    (
                        f"venues[{i}].perp_symbol",
                        f"{venue.perp_symbol!r} (base {perp_asset}) does not hedge "
                        f"market.symbol {self.market.symbol!r} (base {asset})",
                    )
                )
        _combination(problems)
        return self
