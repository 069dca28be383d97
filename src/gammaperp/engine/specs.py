"""Plain, frozen engine specifications (no pydantic): what the kernel needs to know.

The config layer (:mod:`gammaperp.config`) turns an experiment file into these; Python users
may build them directly. Rates are decimals (4 bps = 0.0004), times are days unless named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from gammaperp.errors import EngineError


@dataclass(frozen=True)
class VenueSpec:
    """One exchange account (a margin account) and its fee / margin rules.

    ``capital`` is in the venue's settlement currency: USD(T) for a venue with linear perps and
    spot, coin for a coin-margined venue (inverse perps). ``tiers`` names a maintenance table in
    :func:`gammaperp.engine.margin.get_tiers`.
    """

    name: str = "binance"
    taker_fee: float = 0.0004
    maker_fee: float = 0.0002
    leverage: float = 10.0
    capital: float = 100_000.0
    liquidation_fee: float = 0.005
    on_liquidation: Literal["stop", "continue"] = "stop"
    margin_mode: Literal["cross", "isolated"] = "cross"
    tiers: str = "binance-usdm-btc"
    flat_mmr: float = 0.005

    def __post_init__(self) -> None:
        if self.capital <= 0:
            raise EngineError(f"venue {self.name!r}: capital must be > 0, got {self.capital}")
        if not 1.0 <= self.leverage <= 125.0:
            raise EngineError(f"venue {self.name!r}: leverage must be in [1, 125]")
        if self.taker_fee < 0 or self.maker_fee < -self.taker_fee:
            raise EngineError(
                f"venue {self.name!r}: taker_fee must be >= 0 and the maker rebate no larger "
                "than the taker fee"
            )
        if self.on_liquidation not in ("stop", "continue"):
            raise EngineError(f"venue {self.name!r}: on_liquidation must be 'stop' or 'continue'")


@dataclass(frozen=True)
class StraddleSpec:
    """Built-in strategy: a straddle (or strangle) rolled at expiry, delta-hedged on a perp.

    ``quantity`` straddles in coin (1 = one call + one put on 1 coin); ``side`` +1 long, -1
    short. Strikes: spot x ``call_moneyness`` / ``put_moneyness`` rounded to ``strike_step``
    USD (0 = exact). The hedge trades ``hedge_instrument`` back to zero net delta
    (``target="zero"``) or to the band edge (``"edge"``) whenever one of its ``triggers`` fires:
    ``band`` (|net delta| > ``band`` coin), ``whalley_wilmott`` (|net delta| > the
    Whalley-Wilmott band from the hedge's fee rate, the book's gamma and ``risk_aversion``),
    ``price`` (the hedge price moved ``move_abs`` USD or ``move_pct`` since the last hedge) or
    ``time`` (``interval_minutes`` since the last hedge).
    """

    instrument: str = "BTCUSDT"  # instrument whose index price is the option underlying
    venue: str | None = None  # venue holding the options (default: the instrument's venue)
    side: int = 1
    quantity: float = 1.0
    expiry_days: float = 30.0
    roll_days_before: float = 0.0
    call_moneyness: float = 1.0
    put_moneyness: float = 1.0
    strike_step: float = 0.0
    settlement: Literal["linear", "inverse"] = "linear"
    option_fee: float = 0.0
    model: Literal["bs", "black76"] = "bs"
    rate: float = 0.0
    carry: float = 0.0
    hedge_instrument: str | None = "BTCUSDT"  # None: no hedging
    hedge_venue: str | None = None
    band: float = 0.05
    target: Literal["zero", "edge"] = "zero"
    order_type: Literal["market", "limit"] = "market"
    limit_offset: float = 0.0
    triggers: tuple[str, ...] = ("band",)  # any of: band, price, time, whalley_wilmott
    move_abs: float = 0.0  # price trigger: USD move of the hedge price since the last hedge
    move_pct: float = 0.0  # price trigger: fractional move since the last hedge
    interval_minutes: float = 0.0  # time trigger: hedge every this many minutes
    risk_aversion: float = 0.0  # Whalley-Wilmott band: risk aversion, 1/USD
    leland: bool = False  # hedge deltas with Leland's cost-adjusted volatility
    leland_interval_minutes: float = 0.0  # Leland's hedge interval (default: interval_minutes)

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise EngineError(f"strategy.side must be +1 or -1, got {self.side}")
        if self.quantity <= 0:
            raise EngineError(f"strategy.quantity must be > 0, got {self.quantity}")
        if self.expiry_days <= 0:
            raise EngineError(f"strategy.expiry_days must be > 0, got {self.expiry_days}")
        if not 0 <= self.roll_days_before < self.expiry_days:
            raise EngineError("strategy.roll_days_before must be in [0, expiry_days)")
        if self.band <= 0:
            raise EngineError(f"hedge.band must be > 0, got {self.band}")
        if self.call_moneyness <= 0 or self.put_moneyness <= 0:
            raise EngineError("strategy moneyness must be > 0")
        known = ("band", "price", "time", "whalley_wilmott")
        bad = [x for x in self.triggers if x not in known]
        if bad or not self.triggers:
            raise EngineError(f"hedge.triggers: unknown or empty {bad}; choose from {known}")
        if "price" in self.triggers and not (self.move_abs > 0 or self.move_pct > 0):
            raise EngineError("hedge trigger 'price' needs move_abs > 0 or move_pct > 0")
        if "time" in self.triggers and not self.interval_minutes > 0:
            raise EngineError("hedge trigger 'time' needs interval_minutes > 0")
        if "whalley_wilmott" in self.triggers and not self.risk_aversion > 0:
            raise EngineError("hedge trigger 'whalley_wilmott' needs risk_aversion > 0")
        if self.leland and not (self.leland_interval_minutes > 0 or self.interval_minutes > 0):
            raise EngineError(
                "hedge.leland needs a hedge interval: leland_interval_minutes or the time "
                "trigger's interval_minutes"
            )


@dataclass(frozen=True)
class ExecutionSpec:
    """Slippage and latency models, seeded.

    Slippage (market orders only; limit orders fill at their limit): ``none``, ``fixed_bps``
    (``slippage_bps`` of price), ``half_spread`` (half the quoted spread, fixed bps where no
    spread is known), ``vol_scaled`` (``vol_k`` x trailing 1-bar sigma x price), ``sqrt_impact``
    (``impact_k`` x sigma x price x sqrt(order size / bar volume)). Latency: ``constant``
    ``latency_ms``, or ``lognormal`` around it with ``latency_sigma``, widened by
    ``1 + latency_vol_widening x max(0, sigma_bar / sigma_baseline - 1)`` in volatile bars.
    An order decided at bar t fills at the first bar whose timestamp is >= t + latency.
    """

    slippage: Literal["none", "fixed_bps", "half_spread", "vol_scaled", "sqrt_impact"] = "none"
    slippage_bps: float = 0.0
    vol_k: float = 0.1
    impact_k: float = 0.1
    latency: Literal["constant", "lognormal"] = "constant"
    latency_ms: float = 0.0
    latency_sigma: float = 0.5
    latency_vol_widening: float = 0.0
    sigma_window: int = 60  # bars in the trailing sigma used by vol-scaled models
    seed: int = 7

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.slippage_bps < 0:
            raise EngineError("execution: latency_ms and slippage_bps must be >= 0")
        if self.sigma_window < 2:
            raise EngineError("execution.sigma_window must be >= 2")


@dataclass(frozen=True)
class ScriptedOrders:
    """Orders decided in advance (or by a Python strategy): one row per order.

    ``bar`` is the bar at which the order is decided (ascending); ``instrument`` a name or row
    of the market; ``qty`` signed contracts (+ buy, - sell); ``order_type`` "market" (fills at
    the close of the bar at decision + latency, taker fee, slippage) or "limit" (rests from the
    next bar, fills when the price trades through ``limit``, maker fee).
    """

    bar: Sequence[int]
    instrument: Sequence[str | int]
    qty: Sequence[float]
    order_type: Sequence[str] | None = None
    limit: Sequence[float] | None = None


@dataclass(frozen=True)
class RunSpec:
    """Everything the engine needs besides the market."""

    venues: tuple[VenueSpec, ...] = (VenueSpec(),)
    strategy: StraddleSpec | None = field(default_factory=StraddleSpec)
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    orders: ScriptedOrders | None = None
