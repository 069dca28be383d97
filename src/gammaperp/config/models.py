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
from typing import Annotated, Any, Literal, NamedTuple, Union

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
    "CarryConfig",
    "DeltaBandHedgeConfig",
    "ExecutionConfig",
    "ExperimentConfig",
    "HedgeConfig",
    "HedgeSpec",
    "InstrumentConfig",
    "InstrumentRef",
    "MarketConfig",
    "OutputConfig",
    "PairConfig",
    "RiskConfig",
    "ScalpConfig",
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
    funding: Path | None = _field(
        None,
        unit="path",
        doc="Funding-rate file of this venue's perp (e.g. two venues' perps on the same symbol "
        "with their own funding); relative to the config file. Unset: the market's funding.",
        strict=False,
    )
    funding_constant: float | None = _field(
        None,
        unit="decimal per funding interval",
        doc="Constant funding rate of this venue's perp (0.0001 = 1 bp). Unset: the market's "
        "funding.",
        ge=-0.05,
        le=0.05,
    )
    funding_interval_hours: float | None = _field(
        None,
        unit="hours",
        doc="Funding interval of this venue's perp. Unset: the funding file's own interval when "
        "`funding` is set and states one, else market.funding_interval_hours.",
        gt=0,
        le=24,
    )

    @field_validator("funding", mode="after")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @model_validator(mode="after")
    def _combinations(self) -> VenueConfig:
        problems: list[tuple[str, str]] = []
        if self.funding is not None and self.funding_constant is not None:
            problems.append(
                ("funding_constant", "set either funding (a file) or funding_constant, not both")
            )
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
# extra instruments


class InstrumentConfig(_Frozen):
    """An instrument beyond the venues' perps: a spot leg, a second asset's perp...

    Prices: with ``market.source = "files"`` its own ``ohlcv`` file; with ``"synthetic"`` a
    path driven by the main symbol (``beta``, ``idio_vol``). Without either it shares the main
    price series (e.g. spot ``BTC/USDT`` beside the ``BTCUSDT`` perp for cash-and-carry).
    """

    name: str = _field(
        unit="symbol",
        doc="Instrument name, unique on its venue; strategy legs refer to it (spot beside a "
        "perp of the same symbol needs another name, e.g. `BTC/USDT`).",
        min_length=1,
    )
    venue: str | None = _field(
        None,
        unit="name",
        doc="Venue (account) holding it, one of `venues`; unset: the first venue.",
        min_length=1,
    )
    kind: Literal["perp_linear", "perp_inverse", "spot"] = _field(
        "perp_linear",
        unit="choice",
        doc="perp_linear: USDT-margined perp; perp_inverse: coin-margined perp (its venue must "
        "hold only inverse perps); spot: no funding, cannot be shorted.",
    )
    contract_size: float = _field(
        1.0,
        unit="coin per contract (linear, spot) or USD per contract (inverse)",
        doc="Contract multiplier.",
        gt=0,
    )
    tick_size: float = _field(0.01, unit="USD", doc="Price increment.", gt=0)
    lot_size: float = _field(0.001, unit="contracts", doc="Quantity increment of orders.", gt=0)
    ohlcv: Path | None = _field(
        None,
        unit="path",
        doc="Its own OHLCV file (market.source = files only), aligned as of the main series' "
        "bars; the run covers the span every series covers. Unset: the main price series.",
        strict=False,
    )
    funding: Path | None = _field(
        None,
        unit="path",
        doc="Funding-rate file (perps only); relative to the config file. Unset, and no "
        "funding_constant: the market's funding if the instrument is on the main symbol's base "
        "asset, else none.",
        strict=False,
    )
    funding_constant: float | None = _field(
        None,
        unit="decimal per funding interval",
        doc="Constant funding rate (perps only; 0.0001 = 1 bp).",
        ge=-0.05,
        le=0.05,
    )
    funding_interval_hours: float | None = _field(
        None,
        unit="hours",
        doc="Funding interval (perps only). Unset: the funding file's own interval when it "
        "states one, else market.funding_interval_hours.",
        gt=0,
        le=24,
    )
    beta: float | None = _field(
        None,
        unit="multiplier",
        doc="Synthetic source: log returns = beta x the main symbol's log returns + independent "
        "normal noise of annual vol `idio_vol` (seeded from the run seed and `name`). Unset: "
        "the main price series.",
        ge=-10,
        le=10,
    )
    idio_vol: float | None = _field(
        None,
        unit="decimal per year",
        doc="Synthetic source: annual vol of the idiosyncratic noise (needs beta; unset: 0).",
        ge=0,
        le=5,
    )
    s0: float | None = _field(
        None,
        unit="USD per coin",
        doc="Synthetic source: first price of the beta path (needs beta; unset: the main "
        "series' first close).",
        gt=0,
    )

    @field_validator("ohlcv", "funding", mode="after")
    @classmethod
    def _paths(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve_path(value, info)

    @property
    def own_prices(self) -> bool:
        """Whether it has its own price series (an ohlcv file or a synthetic beta path)."""
        return self.ohlcv is not None or self.beta is not None

    @model_validator(mode="after")
    def _combinations(self) -> InstrumentConfig:
        problems: list[tuple[str, str]] = []
        if self.kind == "spot":
            for key in ("funding", "funding_constant", "funding_interval_hours"):
                if getattr(self, key) is not None:
                    problems.append((key, "spot instruments have no funding"))
        if self.funding is not None and self.funding_constant is not None:
            problems.append(
                ("funding_constant", "set either funding (a file) or funding_constant, not both")
            )
        if self.ohlcv is not None and self.beta is not None:
            problems.append(
                ("beta", "set either ohlcv (files source) or beta (synthetic source), not both")
            )
        if self.beta is None:
            for key in ("idio_vol", "s0"):
                if getattr(self, key) is not None:
                    problems.append((key, "only applies to a synthetic beta path (set beta)"))
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
    """Buy (long gamma) or sell (short gamma) a straddle or strangle, delta-hedged on a perp.

    The options are on the first venue's perp_symbol; the ``[hedge]`` table says how the delta
    is hedged.
    """

    kind: Literal["straddle"] = _field(
        "straddle", unit="choice", doc="Strategy kind (discriminator)."
    )
    side: Literal["long", "short"] = _field(
        "long",
        unit="choice",
        doc="long = buy options (the long-gamma template); short = sell them (short gamma).",
    )
    quantity: float = _field(
        1.0,
        unit="coin (straddles)",
        doc="Straddles held: 1 = one call + one put on 1 coin (ignored when size_by = premium).",
        gt=0,
    )
    expiry_days: float = _field(30.0, unit="days", doc="Option time to expiry at entry.", gt=0)
    strike: Literal["atm", "moneyness", "delta"] = _field(
        "atm",
        unit="choice",
        doc="Strike selection at each entry: atm (both at the money: a straddle); moneyness "
        "(call_moneyness / put_moneyness x spot: a strangle); delta (the strikes whose delta "
        "at entry, at market vol and smile, is call_delta / minus put_delta).",
    )
    call_moneyness: float | None = _field(
        None,
        unit="strike / spot",
        doc="strike = moneyness: call strike as a multiple of spot at entry (1.1: 10 % out of "
        "the money).",
        gt=0,
        le=10,
    )
    put_moneyness: float | None = _field(
        None,
        unit="strike / spot",
        doc="strike = moneyness: put strike as a multiple of spot at entry (0.9: 10 % out of "
        "the money).",
        gt=0,
        le=10,
    )
    call_delta: float | None = _field(
        None,
        unit="delta (0..1)",
        doc="strike = delta: delta of the call at entry (0.25: a 25-delta call).",
        gt=0,
        lt=1,
    )
    put_delta: float | None = _field(
        None,
        unit="absolute delta (0..1)",
        doc="strike = delta: absolute delta of the put at entry (0.25: the put of delta -0.25).",
        gt=0,
        lt=1,
    )
    size_by: Literal["quantity", "premium"] = _field(
        "quantity",
        unit="choice",
        doc="quantity: hold `quantity` straddles; premium: each entry (and roll) buys or sells "
        "as many as `premium_budget` USD of premium pay for.",
    )
    premium_budget: float | None = _field(
        None,
        unit="USD per entry",
        doc="size_by = premium: premium paid (long) or collected (short) at each entry.",
        gt=0,
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
        problems: list[tuple[str, str]] = []
        if self.roll_days_before >= self.expiry_days:
            problems.append(
                (
                    "roll_days_before",
                    f"{self.roll_days_before:g} days must be less than expiry_days "
                    f"{self.expiry_days:g}",
                )
            )
        for mode, keys in (
            ("moneyness", ("call_moneyness", "put_moneyness")),
            ("delta", ("call_delta", "put_delta")),
        ):
            for key in keys:
                if self.strike == mode and getattr(self, key) is None:
                    problems.append((key, f'strike = "{mode}" needs {key}'))
                elif self.strike != mode and getattr(self, key) is not None:
                    problems.append(
                        (key, f'only applies to strike = "{mode}" (strike is "{self.strike}")')
                    )
        if self.size_by == "premium" and self.premium_budget is None:
            problems.append(("premium_budget", 'size_by = "premium" needs premium_budget (USD)'))
        elif self.size_by == "quantity" and self.premium_budget is not None:
            problems.append(
                ("premium_budget", 'only applies to size_by = "premium" (size_by is "quantity")')
            )
        _combination(problems)
        return self


_LEG_VENUE_DOC = (
    "Venue of {leg}; unset: the venue of the only instrument of that name (naming it is "
    "required when several venues have one)."
)


class CarryConfig(StrategyConfig):
    """Funding carry: long one leg, short the other, and collect the funding spread.

    Cash-and-carry is this kind with a spot ``long_leg`` (an ``[[instruments]]`` entry of
    kind spot), the perp as ``short_leg``, ``direction = "long_short"`` and
    ``on_adverse = "exit"`` (a spot leg cannot be shorted, so the position can only be closed
    when funding turns against it). The ``[hedge]`` table does not apply.
    """

    kind: Literal["carry"] = _field("carry", unit="choice", doc="Strategy kind (discriminator).")
    long_leg: str = _field(
        unit="symbol",
        doc="Leg held long in direction +1 (leg A): a venue's perp_symbol or an "
        "[[instruments]] name; cash-and-carry: the spot instrument.",
        min_length=1,
    )
    long_venue: str | None = _field(
        None, unit="name", doc=_LEG_VENUE_DOC.format(leg="long_leg"), min_length=1
    )
    short_leg: str = _field(
        unit="symbol",
        doc="Leg held short in direction +1 (leg B): the perp whose funding is collected.",
        min_length=1,
    )
    short_venue: str | None = _field(
        None, unit="name", doc=_LEG_VENUE_DOC.format(leg="short_leg"), min_length=1
    )
    quantity: float = _field(1.0, unit="coin", doc="Coin held on each leg.", gt=0)
    entry_apr: float = _field(
        0.05,
        unit="fraction per year",
        doc="Flat: open when the funding spread in favour of a direction exceeds this. Each "
        "perp's last settled rate is annualised by its own interval (rate x 8760 / interval "
        "hours; spot earns 0); the spread of direction +1 is apr(short_leg) - apr(long_leg).",
        ge=0,
    )
    exit_apr: float = _field(
        0.0,
        unit="fraction per year",
        doc="In a position: act (on_adverse) when the spread in its favour falls below minus "
        "this (0: as soon as it turns negative).",
        ge=0,
    )
    on_adverse: Literal["exit", "flip"] = _field(
        "flip",
        unit="choice",
        doc="When the spread turns against the position: exit (close both legs) or flip "
        "(rotate both legs to the other direction; both legs must be perps). Cash-and-carry: "
        "exit.",
    )
    direction: Literal["both", "long_short"] = _field(
        "both",
        unit="choice",
        doc="both: open either direction, whichever the spread favours; long_short: only long "
        "long_leg / short short_leg (cash-and-carry: the spot leg is never shorted).",
    )
    rebalance_tol: float = _field(
        0.1,
        unit="fraction of quantity",
        doc="Re-size a leg whose coin delta drifts more than this from its target (inverse "
        "perps: a USD-sized contract's coin delta moves with the price).",
        gt=0,
    )


class PairConfig(StrategyConfig):
    """Cross-asset hedge: hold one instrument, hedged with beta x its notional in another.

    Beta is the OLS slope of ``instrument``'s log returns on ``hedge_instrument``'s over a
    rolling window, re-estimated at every return sample; nothing is held until the window is
    full. The ``[hedge]`` table does not apply.
    """

    kind: Literal["pair"] = _field("pair", unit="choice", doc="Strategy kind (discriminator).")
    instrument: str = _field(
        unit="symbol",
        doc="Instrument held (e.g. ETHUSDT): a venue's perp_symbol or an [[instruments]] name.",
        min_length=1,
    )
    venue: str | None = _field(
        None, unit="name", doc=_LEG_VENUE_DOC.format(leg="instrument"), min_length=1
    )
    hedge_instrument: str = _field(
        unit="symbol",
        doc="Perp the position is hedged with (e.g. BTCUSDT).",
        min_length=1,
    )
    hedge_venue: str | None = _field(
        None, unit="name", doc=_LEG_VENUE_DOC.format(leg="hedge_instrument"), min_length=1
    )
    side: Literal["long", "short"] = _field(
        "long",
        unit="choice",
        doc="long: buy `notional` of instrument, sell beta x that in the hedge; short: reverse.",
    )
    notional: float = _field(
        10_000.0,
        unit="USD",
        doc="Notional of the first leg at entry (its coin quantity is then fixed).",
        gt=0,
    )
    window: int = _field(
        168, unit="returns", doc="Returns in the rolling OLS window of beta.", ge=3
    )
    return_bars: int = _field(
        60,
        unit="bars",
        doc="Bars per return sample (60 one-minute bars: hourly returns).",
        ge=1,
    )
    drift_tol: float = _field(
        0.1,
        unit="fraction",
        doc="Rebalance the hedge leg when its quantity is off the beta-implied one by more "
        "than this fraction of it.",
        gt=0,
    )


class ScalpConfig(StrategyConfig):
    """Band scalping on a perp around a moving average (buy the bottom, sell the top).

    The ``[hedge]`` table does not apply.
    """

    kind: Literal["scalp"] = _field("scalp", unit="choice", doc="Strategy kind (discriminator).")
    instrument: str | None = _field(
        None,
        unit="symbol",
        doc="Perp traded: a venue's perp_symbol or an [[instruments]] name; unset: the first "
        "venue's perp.",
        min_length=1,
    )
    venue: str | None = _field(
        None, unit="name", doc=_LEG_VENUE_DOC.format(leg="instrument"), min_length=1
    )
    quantity: float = _field(0.01, unit="coin", doc="Size of one clip.", gt=0)
    max_inventory: float = _field(
        0.05, unit="coin", doc="Inventory limit: no clip takes |position| beyond this.", gt=0
    )
    centre_bars: int = _field(
        60, unit="bars", doc="Moving-average window of the band's centre (closes).", ge=1
    )
    band_pct: float = _field(
        0.005,
        unit="fraction of the centre",
        doc="Band half-width: buy at centre x (1 - this), sell at centre x (1 + this).",
        gt=0,
        lt=1,
    )
    order_type: Literal["market", "limit"] = _field(
        "limit",
        unit="choice",
        doc="limit: maker orders resting at the band edges; market: taker orders at the close "
        "of the bar that touched an edge.",
    )

    @model_validator(mode="after")
    def _combinations(self) -> ScalpConfig:
        if self.max_inventory < self.quantity:
            _combination(
                [
                    (
                        "max_inventory",
                        f"{self.max_inventory:g} coin is less than one clip "
                        f"(quantity {self.quantity:g})",
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
    intrabar: bool = _field(
        False,
        unit="flag",
        doc="Watch the band inside each bar (previous close -> open -> low/high -> close, low "
        "first on an up bar): a crossing fills at the crossing price, a gap at the open. Needs "
        "high/low data, no latency, market orders.",
    )

    @model_validator(mode="after")
    def _combinations(self) -> DeltaBandHedgeConfig:
        problems: list[tuple[str, str]] = []
        if self.intrabar and "band" not in self.triggers:
            problems.append(("intrabar", 'needs the "band" trigger'))
        if self.intrabar and self.order_type != "market":
            problems.append(("intrabar", 'fills at the crossing price: order_type = "market"'))
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
# risk overlays


class RiskConfig(_Frozen):
    """Risk overlays on top of any strategy; 0 switches an overlay off (the default: all off).

    Same names and meaning as :class:`gammaperp.engine.specs.RiskSpec`; every ``_pct`` key is a
    fraction (0.2 = 20 %). Every overlay action is written to the blotter with its reason.
    """

    stop_loss_pct: float = _field(
        0.0,
        unit="fraction of starting equity",
        doc="Catastrophic stop: equity below (1 - this) x starting equity flattens everything "
        "(options too).",
        ge=0,
        lt=1,
    )
    stop_cooldown_minutes: float = _field(
        0.0,
        unit="minutes",
        doc="After the catastrophic stop, resume trading after this long, re-based on the "
        "equity then (0: stop for good).",
        ge=0,
    )
    leg_stop_pct: float = _field(
        0.0,
        unit="fraction of the leg's entry notional",
        doc="Close a perp/spot leg whose unrealised loss exceeds this.",
        ge=0,
        lt=1,
    )
    leg_cooldown_minutes: float = _field(
        60.0,
        unit="minutes",
        doc="After a leg stop, the strategy may re-enter after this long.",
        ge=0,
    )
    margin_buffer_pct: float = _field(
        0.0,
        unit="fraction of the mark price",
        doc="Act when a perp's distance to its liquidation price falls below this.",
        ge=0,
        lt=1,
    )
    margin_action: Literal["reduce", "transfer"] = _field(
        "reduce",
        unit="choice",
        doc="reduce: cut the leg by margin_reduce_fraction; transfer: move reserve collateral "
        "from the venue with the most free equity.",
    )
    margin_reduce_fraction: float = _field(
        0.5,
        unit="fraction of the leg",
        doc="margin_action = reduce: share of the leg closed.",
        gt=0,
        le=1,
    )
    vol_short_bars: int = _field(
        0,
        unit="bars",
        doc="Volatility breaker: short realised-vol window (needs 2 <= this < vol_long_bars).",
        ge=0,
    )
    vol_long_bars: int = _field(
        0, unit="bars", doc="Volatility breaker: long realised-vol window.", ge=0
    )
    vol_k: float = _field(
        0.0,
        unit="multiple of the long-window vol",
        doc="Volatility breaker: trips when the short-window vol exceeds this x the long one "
        "(0: off).",
        ge=0,
    )
    vol_action: Literal["pause", "reduce"] = _field(
        "pause",
        unit="choice",
        doc="Volatility breaker: pause new trading, or scale order sizes by vol_reduce_factor, "
        "until calm again.",
    )
    vol_reduce_factor: float = _field(
        0.5,
        unit="multiplier",
        doc="vol_action = reduce: order-size multiplier while tripped.",
        gt=0,
        le=1,
    )
    trend_fast_bars: int = _field(
        0,
        unit="bars",
        doc="Trend filter: fast moving-average window (needs 1 <= this < trend_slow_bars).",
        ge=0,
    )
    trend_slow_bars: int = _field(
        0, unit="bars", doc="Trend filter: slow moving-average window.", ge=0
    )
    trend_threshold: float = _field(
        0.0,
        unit="fraction of the slow average",
        doc="Trend filter: active when the fast average is more than this away from the slow "
        "one (0: off).",
        ge=0,
    )
    trend_action: Literal["pause", "bias"] = _field(
        "pause",
        unit="choice",
        doc="Trend filter: pause hedging, or lean with the trend (bias: leave trend_bias of "
        "the delta unhedged in the trend's direction).",
    )
    trend_bias: float = _field(
        0.5,
        unit="fraction of the delta",
        doc="trend_action = bias: share of the delta left unhedged.",
        ge=0,
        le=1,
    )
    hedge_bias: float = _field(
        0.0,
        unit="fraction of the delta",
        doc="Hedge (1 + this) x the delta: 0.1 over-hedges by 10 %, -0.2 under-hedges by 20 %.",
        ge=-1,
        le=1,
    )
    loss_streak: int = _field(
        0,
        unit="round trips",
        doc="After this many losing round trips in a row, pause new trading (0: off).",
        ge=0,
    )
    loss_pause_minutes: float = _field(
        60.0, unit="minutes", doc="Length of the loss-streak pause.", ge=0
    )
    inventory_reset: float = _field(
        0.0,
        unit="coin",
        doc="When the hedge / inventory position reaches this, re-centre it (straddles: "
        "re-strike at the money; perp strategies: flatten the leg). 0: off.",
        ge=0,
    )
    max_position: float = _field(
        0.0,
        unit="coin per instrument",
        doc="Orders are clipped so no position exceeds this (0: no cap).",
        ge=0,
    )
    max_notional: float = _field(
        0.0,
        unit="USD per venue",
        doc="Orders are clipped so no venue's notional exceeds this (0: no cap).",
        ge=0,
    )

    @model_validator(mode="after")
    def _combinations(self) -> RiskConfig:
        problems: list[tuple[str, str]] = []
        if self.vol_k > 0 and not 2 <= self.vol_short_bars < self.vol_long_bars:
            problems.append(
                (
                    "vol_short_bars",
                    f"the volatility breaker (vol_k = {self.vol_k:g}) needs 2 <= vol_short_bars "
                    f"< vol_long_bars (got {self.vol_short_bars} and {self.vol_long_bars})",
                )
            )
        if self.trend_threshold > 0 and not 1 <= self.trend_fast_bars < self.trend_slow_bars:
            problems.append(
                (
                    "trend_fast_bars",
                    f"the trend filter (trend_threshold = {self.trend_threshold:g}) needs 1 <= "
                    f"trend_fast_bars < trend_slow_bars (got {self.trend_fast_bars} and "
                    f"{self.trend_slow_bars})",
                )
            )
        _combination(problems)
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
STRATEGY_KINDS: dict[str, type[StrategyConfig]] = {
    "straddle": StraddleConfig,
    "carry": CarryConfig,
    "pair": PairConfig,
    "scalp": ScalpConfig,
}
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


class InstrumentRef(NamedTuple):
    """One tradable instrument of an experiment: a venue's perp or an ``[[instruments]]`` row."""

    name: str
    venue: str
    kind: str
    key: str  # where it is configured: "venues[0].perp_symbol" or "instruments[1]"
    own_prices: bool  # its own price series (else: the main series)


class ExperimentConfig(_Frozen):
    """One backtest: market, venues, instruments, execution, strategy, hedge policy, risk
    overlays and output."""

    name: str = _field("gammaperp-run", unit="name", doc="Run name.", min_length=1)
    seed: int = _field(7, unit="integer", doc="Seed of every random draw in the run.", ge=0)
    market: MarketConfig = _field(
        unit="table", doc="Market data.", default_factory=MarketConfig, strict=False
    )
    venues: tuple[VenueConfig, ...] = _field(
        unit="array of tables",
        doc="Perp venues (one perp each); the first is the default hedge venue.",
        default_factory=lambda: (VenueConfig(),),
        strict=False,
        min_length=1,
    )
    instruments: tuple[InstrumentConfig, ...] = _field(
        unit="array of tables",
        doc="Instruments beyond each venue's perp (spot legs, other assets' perps).",
        default_factory=tuple,
        strict=False,
    )
    execution: ExecutionConfig = _field(
        unit="table", doc="Slippage and latency.", default_factory=ExecutionConfig, strict=False
    )
    strategy: StrategySpec = _field(
        unit="table",
        doc="Strategy template, chosen by kind: straddle, carry, pair or scalp.",
        default_factory=StraddleConfig,
    )
    hedge: HedgeSpec = _field(
        unit="table",
        doc="Hedge policy of a straddle (other kinds ignore this table).",
        default_factory=DeltaBandHedgeConfig,
        strict=False,
    )
    risk: RiskConfig = _field(
        unit="table", doc="Risk overlays (all off by default).", default_factory=RiskConfig,
        strict=False,
    )  # fmt: skip
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

    def instrument_refs(self) -> list[InstrumentRef]:
        """Every instrument of the run: the venues' perps, then ``instruments`` in order."""
        refs = [
            InstrumentRef(
                v.perp_symbol,
                v.name,
                "perp_inverse" if v.contract_type == "inverse" else "perp_linear",
                f"venues[{i}].perp_symbol",
                False,
            )
            for i, v in enumerate(self.venues)
        ]
        for j, x in enumerate(self.instruments):
            venue = x.venue if x.venue is not None else self.venues[0].name
            refs.append(InstrumentRef(x.name, venue, x.kind, f"instruments[{j}]", x.own_prices))
        return refs

    def resolve_instrument(self, name: str, venue: str | None = None) -> InstrumentRef:
        """The instrument ``name`` (on ``venue`` if given); ``ValueError`` says why not."""
        refs = self.instrument_refs()
        found = [r for r in refs if r.name == name and (venue is None or r.venue == venue)]
        if not found:
            where = f" on venue {venue!r}" if venue is not None else ""
            have = ", ".join(f"{r.venue}:{r.name}" for r in refs)
            raise ValueError(f"{name!r} is not an instrument{where}; instruments: {have}")
        if len(found) > 1:
            on = ", ".join(r.venue for r in found)
            raise LookupError(f"{name!r} is on several venues ({on}); name the venue")
        return found[0]

    def strategy_legs(self) -> dict[str, InstrumentRef]:
        """The instruments the strategy trades, by role (validated: every leg resolves)."""
        st = self.strategy
        if isinstance(st, CarryConfig):
            return {
                "long": self.resolve_instrument(st.long_leg, st.long_venue),
                "short": self.resolve_instrument(st.short_leg, st.short_venue),
            }
        if isinstance(st, PairConfig):
            return {
                "instrument": self.resolve_instrument(st.instrument, st.venue),
                "hedge": self.resolve_instrument(st.hedge_instrument, st.hedge_venue),
            }
        if isinstance(st, ScalpConfig):
            name = st.instrument if st.instrument is not None else self.venues[0].perp_symbol
            venue = st.venue
            if st.instrument is None and venue is None:
                venue = self.venues[0].name
            return {"instrument": self.resolve_instrument(name, venue)}
        first = self.venues[0]
        return {
            "options": self.resolve_instrument(first.perp_symbol, first.name),
            "hedge": self.resolve_instrument(self.hedge_venue.perp_symbol, self.hedge_venue.name),
        }

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
        problems += self._instrument_problems(seen, asset)
        if not problems:
            problems += self._strategy_problems()
        _combination(problems)
        return self

    def _instrument_problems(self, venues: dict[str, int], asset: str) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        source = self.market.source
        refs = self.instrument_refs()
        n_perps = len(self.venues)
        for j, x in enumerate(self.instruments):
            key = f"instruments[{j}]"
            ref = refs[n_perps + j]
            if x.venue is not None and x.venue not in venues:
                problems.append(
                    (
                        f"{key}.venue",
                        f"{x.venue!r} is not a configured venue; venues: {', '.join(venues)}",
                    )
                )
            clash = next(
                (r for r in refs[: n_perps + j] if (r.name, r.venue) == (ref.name, ref.venue)),
                None,
            )
            if clash is not None:
                problems.append(
                    (
                        f"{key}.name",
                        f"{x.name!r} on venue {ref.venue!r} is already {clash.key}; give it "
                        "another name (e.g. 'BTC/USDT' for spot beside the BTCUSDT perp)",
                    )
                )
            if x.ohlcv is not None and source != "files":
                problems.append(
                    (f"{key}.ohlcv", f'is only read when market.source = "files" ("{source}")')
                )
            if x.beta is not None and source != "synthetic":
                problems.append(
                    (
                        f"{key}.beta",
                        f'a beta path is generated only when market.source = "synthetic" '
                        f'("{source}"); give files an ohlcv file instead',
                    )
                )
            if not x.own_prices and base_asset(x.name) != asset:
                problems.append(
                    (
                        f"{key}.name",
                        f"{x.name!r} (base {base_asset(x.name)}) has no price series of its own "
                        f"(set ohlcv, or beta on synthetic data), and the main series is "
                        f"market.symbol {self.market.symbol!r} (base {asset})",
                    )
                )
            if ref.venue in venues:
                v = self.venues[venues[ref.venue]]
                inverse_venue = v.contract_type == "inverse"
                if (x.kind == "perp_inverse") != inverse_venue:
                    problems.append(
                        (
                            f"{key}.kind",
                            f"{x.kind!r} on venue {ref.venue!r}, whose perp is "
                            f"{v.contract_type}: a venue holds either coin-margined (inverse) "
                            "or USD instruments; put it on another venue",
                        )
                    )
        return problems

    def _strategy_problems(self) -> list[tuple[str, str]]:
        st = self.strategy
        if isinstance(st, StraddleConfig):
            return []
        fields = {
            "long": ("long_leg", "long_venue"),
            "short": ("short_leg", "short_venue"),
            "instrument": ("instrument", "venue"),
            "hedge": ("hedge_instrument", "hedge_venue"),
        }
        problems: list[tuple[str, str]] = []
        names = [v.name for v in self.venues]
        legs: dict[str, InstrumentRef] = {}
        roles = {CarryConfig: ("long", "short"), PairConfig: ("instrument", "hedge")}.get(
            type(st), ("instrument",)
        )
        for role in roles:
            name_key, venue_key = fields[role]
            name, venue = getattr(st, name_key), getattr(st, venue_key)
            if venue is not None and venue not in names:
                problems.append(
                    (
                        f"strategy.{venue_key}",
                        f"{venue!r} is not a configured venue; venues: {', '.join(names)}",
                    )
                )
                continue
            if name is None:  # scalp: the first venue's perp
                name, venue = self.venues[0].perp_symbol, venue or self.venues[0].name
            try:
                legs[role] = self.resolve_instrument(name, venue)
            except LookupError as exc:  # several venues
                problems.append((f"strategy.{venue_key}", f"{exc} with strategy.{venue_key}"))
            except ValueError as exc:
                problems.append((f"strategy.{name_key}", str(exc)))
        if problems:
            return problems

        def spot(role: str) -> bool:
            return legs[role].kind == "spot"

        def label(role: str) -> str:
            return f"{legs[role].venue}:{legs[role].name}"

        if isinstance(st, CarryConfig):
            if legs["long"][:2] == legs["short"][:2]:
                problems.append(
                    (
                        "strategy.short_leg",
                        f"the long and the short leg are the same instrument {label('long')}",
                    )
                )
            if spot("short"):
                problems.append(
                    (
                        "strategy.short_leg",
                        f"{label('short')} is spot and cannot be shorted; the short leg is a "
                        "perp (cash-and-carry: spot long_leg, perp short_leg)",
                    )
                )
            if spot("long") and st.on_adverse == "flip":
                problems.append(
                    (
                        "strategy.on_adverse",
                        f'"flip" would short the spot leg {label("long")}; use '
                        'on_adverse = "exit" (cash-and-carry)',
                    )
                )
            if spot("long") and st.direction == "both":
                problems.append(
                    (
                        "strategy.direction",
                        f'"both" may open the reverse direction, shorting the spot leg '
                        f'{label("long")}; use direction = "long_short" (cash-and-carry)',
                    )
                )
        elif isinstance(st, PairConfig):
            if legs["instrument"][:2] == legs["hedge"][:2]:
                problems.append(
                    (
                        "strategy.hedge_instrument",
                        f"the two legs are the same instrument {label('hedge')}",
                    )
                )
            if spot("hedge"):
                problems.append(
                    (
                        "strategy.hedge_instrument",
                        f"{label('hedge')} is spot; the hedge leg is a perp (it is sold)",
                    )
                )
            if spot("instrument") and st.side == "short":
                problems.append(
                    (
                        "strategy.side",
                        f'"short" would short the spot leg {label("instrument")}; use a perp',
                    )
                )
        elif spot("instrument"):
            problems.append(
                (
                    "strategy.instrument",
                    f"{label('instrument')} is spot; scalping trades a perp (inventory can be "
                    "short)",
                )
            )
        return problems
