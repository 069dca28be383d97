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
    USD (0 = exact), or - with ``call_delta`` / ``put_delta`` > 0 - the strike whose delta at
    entry (market vol and smile) is that value (puts: minus that value). With
    ``premium_budget`` > 0 each entry buys (or sells) as many straddles as that many USD of
    premium pay for, instead of ``quantity``. With ``intrabar`` the delta band is also
    watched inside each bar along the path previous close -> open -> low/high -> close (low
    first on an up bar): a crossing fills at the price where |net delta| reaches the band, a
    gap (the open already beyond it) fills at the open. The hedge trades ``hedge_instrument``
    back to zero net delta (``target="zero"``) or to the band edge (``"edge"``) whenever one of
    its ``triggers`` fires:
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
    call_delta: float = 0.0  # > 0: call strike chosen at this delta at entry (e.g. 0.25)
    put_delta: float = 0.0  # > 0: put strike chosen at this |delta| at entry (e.g. 0.25)
    premium_budget: float = 0.0  # > 0: size each entry so the premium is this many USD
    intrabar: bool = False  # detect band crossings inside bars from open/high/low (OHLC data)

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
        if not (0 <= self.call_delta < 1 and 0 <= self.put_delta < 1):
            raise EngineError("strategy call_delta / put_delta must be in [0, 1) (0: by moneyness)")
        if self.intrabar and "band" not in self.triggers:
            raise EngineError("hedge.intrabar needs the 'band' trigger")
        if self.intrabar and self.order_type != "market":
            raise EngineError("hedge.intrabar fills at the crossing price: order_type 'market'")
        if self.premium_budget < 0:
            raise EngineError("strategy.premium_budget must be >= 0 (0: size by quantity)")
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
class CarrySpec:
    """Built-in strategy: funding carry between two legs (templates "carry" and
    "cash_and_carry").

    Direction +1 is long ``long_instrument`` (leg A: a spot or a low-funding perp) and short
    ``short_instrument`` (leg B), ``quantity`` coin each; -1 is the reverse. Each perp's last
    *settled* funding rate (no look-ahead: a rate is known from its settlement bar on) is
    annualised by its own funding interval (rate x 8760 / interval hours; spot earns 0); the
    spread in favour of direction d is ``d x (apr_B - apr_A)``. Flat, the strategy opens
    direction +1 when that spread exceeds ``entry_apr`` (with ``direction="both"`` also -1 when
    the reverse does). In a position, when the spread in its favour falls below ``-exit_apr``
    it exits (``on_adverse="exit"``) or rotates both legs to the other direction
    (``"flip"``; needs both legs to be perps), paying the switching fees. A leg whose coin
    delta drifts more than ``rebalance_tol`` x ``quantity`` from its target is re-sized
    (inverse perps: the coin delta of a USD-sized contract changes with the price).
    """

    long_instrument: str = "BTCUSDT"
    short_instrument: str = "BTCUSDT"
    long_venue: str | None = None
    short_venue: str | None = None
    quantity: float = 1.0
    entry_apr: float = 0.05
    exit_apr: float = 0.0
    on_adverse: Literal["exit", "flip"] = "flip"
    direction: Literal["both", "long_short"] = "both"
    rebalance_tol: float = 0.1

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise EngineError(f"strategy.quantity must be > 0, got {self.quantity}")
        if self.entry_apr < 0 or self.exit_apr < 0:
            raise EngineError("strategy.entry_apr and exit_apr must be >= 0")
        if self.on_adverse not in ("exit", "flip"):
            raise EngineError("strategy.on_adverse must be 'exit' or 'flip'")
        if self.direction not in ("both", "long_short"):
            raise EngineError("strategy.direction must be 'both' or 'long_short'")
        if self.rebalance_tol <= 0:
            raise EngineError("strategy.rebalance_tol must be > 0")
        if (self.long_instrument, self.long_venue) == (self.short_instrument, self.short_venue):
            raise EngineError("carry: the long and the short leg must be different instruments")


@dataclass(frozen=True)
class PairSpec:
    """Built-in strategy: cross-asset hedge (template "pair").

    Holds ``side`` x ``notional`` USD of ``long_instrument`` (coin quantity fixed at entry)
    against ``-beta`` x that notional in ``hedge_instrument``. ``beta`` is the OLS slope of the
    first leg's log returns on the hedge leg's, over the last ``window`` returns sampled every
    ``return_bars`` bars, re-estimated at every sample. Nothing is held until the window is
    full. The hedge leg is rebalanced when its quantity differs from the beta-implied one by
    more than ``drift_tol`` of it.
    """

    long_instrument: str = "ETHUSDT"
    hedge_instrument: str = "BTCUSDT"
    long_venue: str | None = None
    hedge_venue: str | None = None
    side: int = 1
    notional: float = 10_000.0
    window: int = 168
    return_bars: int = 60
    drift_tol: float = 0.1

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise EngineError(f"strategy.side must be +1 or -1, got {self.side}")
        if self.notional <= 0:
            raise EngineError(f"strategy.notional must be > 0, got {self.notional}")
        if self.window < 3:
            raise EngineError(f"strategy.window must be >= 3 returns, got {self.window}")
        if self.return_bars < 1:
            raise EngineError(f"strategy.return_bars must be >= 1, got {self.return_bars}")
        if self.drift_tol <= 0:
            raise EngineError("strategy.drift_tol must be > 0")
        if (self.long_instrument, self.long_venue) == (self.hedge_instrument, self.hedge_venue):
            raise EngineError("pair: the two legs must be different instruments")


@dataclass(frozen=True)
class ScalpSpec:
    """Built-in strategy: perp band scalping around a moving centre (template "scalp").

    Centre: simple moving average of the last ``centre_bars`` closes (nothing is traded
    before it is full). Bottom / top of the band: centre x (1 -/+ ``band_pct``). One clip of
    ``quantity`` coin is bought at the bottom and sold at the top, while the inventory stays
    within +-``max_inventory`` coin; after a buy the next buy waits until the price has closed
    back above the centre (and a sell until below), so each swing trades one clip.
    ``order_type="limit"`` rests maker orders at the band edges (filled when the price trades
    through them, at the edge); ``"market"`` sends a taker order at the close of the bar that
    touched the edge. Funding accrues on the inventory.
    """

    instrument: str = "BTCUSDT"
    venue: str | None = None
    quantity: float = 0.01
    max_inventory: float = 0.05
    centre_bars: int = 60
    band_pct: float = 0.005
    order_type: Literal["market", "limit"] = "limit"

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise EngineError(f"strategy.quantity must be > 0, got {self.quantity}")
        if self.max_inventory < self.quantity:
            raise EngineError("strategy.max_inventory must be >= quantity (one clip)")
        if self.centre_bars < 1:
            raise EngineError("strategy.centre_bars must be >= 1")
        if not 0 < self.band_pct < 1:
            raise EngineError("strategy.band_pct must be in (0, 1)")
        if self.order_type not in ("market", "limit"):
            raise EngineError("strategy.order_type must be 'market' or 'limit'")


@dataclass(frozen=True)
class RiskSpec:
    """Risk overlays on top of any strategy; 0 switches an overlay off. Every action is written
    to the blotter (trades, with their reason) and to the overlay event log.

    * ``stop_loss_pct``: catastrophic stop - equity below (1 - x) x starting equity flattens
      everything (options too); trading stops for good, or resumes after
      ``stop_cooldown_minutes`` (re-based on the equity at the restart).
    * ``leg_stop_pct``: a perp/spot leg whose unrealised loss exceeds x of its entry notional
      is closed; the strategy may re-enter after ``leg_cooldown_minutes``.
    * ``margin_buffer_pct``: when a perp's distance to its liquidation price falls below x of
      the mark, ``margin_action="reduce"`` cuts the leg by ``margin_reduce_fraction``;
      ``"transfer"`` moves reserve collateral from the venue with the most free equity.
    * ``vol_short_bars``/``vol_long_bars``/``vol_k``: volatility breaker - realised vol over
      the short window above k x the long window's pauses new trading (``vol_action="pause"``)
      or scales order sizes by ``vol_reduce_factor`` (``"reduce"``) until calm again.
    * ``trend_fast_bars``/``trend_slow_bars``/``trend_threshold``: trend filter - when the fast
      moving average is more than the threshold (fraction) away from the slow one, hedging
      pauses (``trend_action="pause"``) or leans with the trend by ``trend_bias``
      (``"bias"``: the hedge leaves that fraction of the delta unhedged in the trend's
      direction).
    * ``hedge_bias``: hedge (1 + bias) x the delta: +0.1 over-hedges by 10 %, -0.2 under-hedges.
    * ``loss_streak``: after that many losing round trips in a row, pause new trading for
      ``loss_pause_minutes``.
    * ``inventory_reset``: when the hedge/inventory position reaches this many coin, re-centre
      it (straddles: re-strike at the money; perp strategies: flatten the leg).
    * ``max_position`` (coin per instrument) and ``max_notional`` (USD per venue): orders are
      clipped to the caps.
    """

    stop_loss_pct: float = 0.0
    stop_cooldown_minutes: float = 0.0
    leg_stop_pct: float = 0.0
    leg_cooldown_minutes: float = 60.0
    margin_buffer_pct: float = 0.0
    margin_action: Literal["reduce", "transfer"] = "reduce"
    margin_reduce_fraction: float = 0.5
    vol_short_bars: int = 0
    vol_long_bars: int = 0
    vol_k: float = 0.0
    vol_action: Literal["pause", "reduce"] = "pause"
    vol_reduce_factor: float = 0.5
    trend_fast_bars: int = 0
    trend_slow_bars: int = 0
    trend_threshold: float = 0.0
    trend_action: Literal["pause", "bias"] = "pause"
    trend_bias: float = 0.5
    hedge_bias: float = 0.0
    loss_streak: int = 0
    loss_pause_minutes: float = 60.0
    inventory_reset: float = 0.0
    max_position: float = 0.0
    max_notional: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "stop_loss_pct", "stop_cooldown_minutes", "leg_stop_pct", "leg_cooldown_minutes",
            "margin_buffer_pct", "vol_k", "trend_threshold", "loss_pause_minutes",
            "inventory_reset", "max_position", "max_notional",
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise EngineError(f"risk.{name} must be >= 0, got {getattr(self, name)}")
        if self.stop_loss_pct >= 1 or self.leg_stop_pct >= 1 or self.margin_buffer_pct >= 1:
            raise EngineError("risk: stop_loss_pct, leg_stop_pct, margin_buffer_pct must be < 1")
        if not 0 < self.margin_reduce_fraction <= 1:
            raise EngineError("risk.margin_reduce_fraction must be in (0, 1]")
        if not 0 < self.vol_reduce_factor <= 1:
            raise EngineError("risk.vol_reduce_factor must be in (0, 1]")
        if not 0 <= self.trend_bias <= 1:
            raise EngineError("risk.trend_bias must be in [0, 1]")
        if not -1 <= self.hedge_bias <= 1:
            raise EngineError("risk.hedge_bias must be in [-1, 1]")
        if self.loss_streak < 0:
            raise EngineError("risk.loss_streak must be >= 0")
        if self.vol_k > 0 and not 2 <= self.vol_short_bars < self.vol_long_bars:
            raise EngineError("risk: the vol breaker needs 2 <= vol_short_bars < vol_long_bars")
        if self.trend_threshold > 0 and not 1 <= self.trend_fast_bars < self.trend_slow_bars:
            raise EngineError("risk: the trend filter needs 1 <= trend_fast_bars < trend_slow_bars")
        if self.margin_action not in ("reduce", "transfer"):
            raise EngineError("risk.margin_action must be 'reduce' or 'transfer'")
        if self.vol_action not in ("pause", "reduce"):
            raise EngineError("risk.vol_action must be 'pause' or 'reduce'")
        if self.trend_action not in ("pause", "bias"):
            raise EngineError("risk.trend_action must be 'pause' or 'bias'")


StrategySpec = StraddleSpec | CarrySpec | PairSpec | ScalpSpec


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
    strategy: StrategySpec | None = field(default_factory=StraddleSpec)
    execution: ExecutionSpec = field(default_factory=ExecutionSpec)
    orders: ScriptedOrders | None = None
    risk: RiskSpec = field(default_factory=RiskSpec)
