"""Python driver of the kernel: turns a :class:`Market` plus specs into flat arrays, runs one
configuration or a batch (one compiled pass, configurations in parallel), and wraps the output
in :class:`gammaperp.results.Result` objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit, prange

from gammaperp.engine import enums as E
from gammaperp.engine._nb import MAX_ORDERS, run_config_nb
from gammaperp.engine.margin import get_tiers
from gammaperp.engine.specs import (
    CarrySpec,
    ExecutionSpec,
    PairSpec,
    RiskSpec,
    RunSpec,
    ScalpSpec,
    StraddleSpec,
    VenueSpec,
)
from gammaperp.errors import EngineError
from gammaperp.market.model import Market

NS_PER_DAY = 86_400 * 10**9

# blotter / ledger record widths (int part, float part)
BL_I, BL_F = 5, 7
FL_I, FL_F = 2, 4
RL_I, RL_F = 2, 6
LQ_I, LQ_F = 3, 5
EV_I, EV_F = 3, 2
HOURS_PER_YEAR = 365.0 * 24.0


@njit(cache=True, parallel=True)
def _run_batch_nb(n_cfg, *args):  # pragma: no cover - compiled
    """Every configuration of a batch in parallel: ``args`` are ``run_config_nb``'s arguments
    after the configuration index, up to ``full`` (each configuration writes only its own
    output rows)."""
    for c in prange(n_cfg):
        # prange's index is unsigned: pass an int64 so that this reuses the kernel compiled
        # (and cached) for single runs instead of compiling a second copy
        run_config_nb(np.int64(c), *args)


# parameters whose non-zero value needs the full kernel (as do the perp templates)
FULL_KERNEL_PARAMS = (
    E.P_STOP_LOSS,
    E.P_LEG_STOP,
    E.P_MARGIN_BUF,
    E.P_VOL_K,
    E.P_TREND_THR,
    E.P_STREAK,
    E.P_INV_RESET,
    E.P_MAX_POS,
    E.P_MAX_NOTIONAL,
    E.P_HEDGE_BIAS,
    E.P_INTRABAR,
)


def needs_full_kernel(params: np.ndarray) -> bool:
    """Whether any configuration row uses a feature of the full kernel: a perp template, a
    risk overlay, a position or notional cap, a hedge bias or intrabar detection. Without them
    the lean specialization runs (``run_config_nb(..., full=None)``: numba prunes that code)."""
    p = np.atleast_2d(params)
    return bool(
        np.isin(p[:, E.P_STRATEGY], (E.STRAT_CARRY, E.STRAT_PAIR, E.STRAT_SCALP)).any()
        or (p[:, list(FULL_KERNEL_PARAMS)] != 0.0).any()
    )


@dataclass(frozen=True)
class KernelMarket:
    """The market-side arrays every configuration of a batch shares."""

    arrays: tuple
    venue_names: tuple[str, ...]
    inst_venue: np.ndarray
    venue_fx_inst: np.ndarray
    tiers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def trailing_sigma(close: np.ndarray, window: int) -> np.ndarray:
    """Trailing standard deviation of 1-bar log returns over ``window`` bars, per row.

    Uses only returns up to and including the current bar (no look-ahead). The first bars use
    the returns available so far (0 before the second bar).
    """
    k, n = close.shape
    out = np.zeros((k, n))
    r = np.zeros((k, n))
    r[:, 1:] = np.diff(np.log(close), axis=1)
    c1 = np.cumsum(r, axis=1)
    c2 = np.cumsum(r * r, axis=1)
    idx = np.arange(n)
    lo = np.maximum(idx - window, 0)
    cnt = (idx - lo).astype(np.float64)
    s1 = c1 - np.where(lo > 0, c1[:, np.maximum(lo, 0)], 0.0)
    s2 = c2 - np.where(lo > 0, c2[:, np.maximum(lo, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / np.maximum(cnt, 1)) / np.maximum(cnt - 1, 1)
    out[:, 2:] = np.sqrt(np.maximum(var[:, 2:], 0.0))
    return out


def latency_due_bars(market: Market, execution: ExecutionSpec, sigma: np.ndarray) -> np.ndarray:
    """Bar at which an order decided at each bar fills: first ``ts >= local_ts[t] + latency``.

    ``local_ts`` is when the trader saw the bar (feed latency; equal to ``ts`` by default), so
    an order can never fill before its decision could have been made.

    Constant latency, or lognormal around ``latency_ms`` (median) widened in volatile bars by
    ``1 + widening * max(0, sigma_bar / median(sigma_bar) - 1)``; seeded by ``execution.seed``.
    Orders whose fill time falls after the last bar never fill.
    """
    ts = market.ts
    n = ts.shape[0]
    seen = market.local_ts  # when the trader saw each bar (== ts unless feed latency is known)
    base_ns = execution.latency_ms * 1e6
    if base_ns == 0.0:
        if np.array_equal(seen, ts):
            return np.arange(n, dtype=np.int64)
        due = np.searchsorted(ts, seen, side="left")
        return np.maximum(due, np.arange(n)).astype(np.int64)
    if execution.latency == "constant":
        delay = np.full(n, base_ns)
    else:
        rng = np.random.default_rng(execution.seed)
        z = rng.standard_normal(n)
        delay = base_ns * np.exp(execution.latency_sigma * z)
        if execution.latency_vol_widening > 0.0:
            s = sigma[0]
            ref = float(np.median(s[s > 0])) if (s > 0).any() else 0.0
            if ref > 0.0:
                ratio = np.maximum(s / ref - 1.0, 0.0)
                delay = delay * (1.0 + execution.latency_vol_widening * ratio)
    due = np.searchsorted(ts, seen + np.ceil(delay).astype(np.int64), side="left")
    return np.maximum(due, np.arange(n)).astype(np.int64)


def _venue_setup(market: Market, venues: Sequence[VenueSpec]):
    names = tuple(v.name for v in venues)
    if len(set(names)) != len(names):
        raise EngineError(f"venue names must be unique, got {list(names)}")
    inst_venue = np.empty(market.n_instruments, dtype=np.int64)
    for i, inst in enumerate(market.instruments):
        if inst.venue not in names:
            raise EngineError(
                f"market instrument {inst.venue}:{inst.name} is on venue {inst.venue!r}, "
                f"which the config does not define (venues: {list(names)})"
            )
        inst_venue[i] = names.index(inst.venue)
    fx = np.full(len(venues), -1, dtype=np.int64)
    for v in range(len(venues)):
        kinds = {market.instruments[i].kind for i in np.flatnonzero(inst_venue == v)}
        if "perp_inverse" in kinds:
            if kinds - {"perp_inverse"}:
                raise EngineError(
                    f"venue {names[v]!r} mixes coin-margined (inverse) and USD instruments; "
                    "put them on separate venues"
                )
            fx[v] = int(np.flatnonzero(inst_venue == v)[0])
    tables = [get_tiers(v.tiers, v.flat_mmr) for v in venues]
    nb = max(len(t.mmr) for t in tables)
    arrs = []
    for field_name in ("notional_floor", "notional_cap", "mmr", "maint_amount"):
        a = np.empty((len(venues), nb))
        for j, t in enumerate(tables):
            col = np.asarray(getattr(t, field_name), dtype=np.float64)
            a[j, : col.size] = col
            a[j, col.size :] = col[-1]  # pad by repeating the last bracket
        arrs.append(a)
    return names, inst_venue, fx, tuple(arrs)


def kernel_market(
    market: Market,
    venues: Sequence[VenueSpec],
    execution: ExecutionSpec,
    *,
    need_sigma: bool = True,
    option_rows: Sequence[int] | None = None,
) -> KernelMarket:
    """Market-side arrays shared by a batch (trailing sigma only when a model uses it).

    ``option_rows``: the instrument rows whose index prices value options (the log index is
    computed for those rows only; the others stay zero and are never read). None: every row.
    Unused arrays are ``np.zeros`` (lazily zeroed pages: a sweep on a wide market does not
    pay for them).
    """
    names, inst_venue, fx, tiers = _venue_setup(market, venues)
    if need_sigma:
        sigma = trailing_sigma(market.close, execution.sigma_window)
    else:
        sigma = np.zeros(market.close.shape)
    due = latency_due_bars(market, execution, sigma)
    if option_rows is None:
        log_index = np.log(market.index)
    else:
        log_index = np.zeros(market.index.shape)
        for i in sorted(set(int(r) for r in option_rows if r >= 0)):
            log_index[i] = np.log(market.index[i])
    kinds = np.array([i.kind_code for i in market.instruments], dtype=np.int64)
    cs = np.array([i.contract_size for i in market.instruments], dtype=np.float64)
    lot = np.array([i.lot_size for i in market.instruments], dtype=np.float64)
    tick = np.array([i.tick_size for i in market.instruments], dtype=np.float64)
    # funding rate -> annual rate, by each perp's own funding interval (spot: 0)
    fann = np.array(
        [
            0.0 if inst.kind == "spot" else HOURS_PER_YEAR / float(h)
            for inst, h in zip(
                market.instruments,
                market.funding_interval_hours or (8.0,) * len(market.instruments),
                strict=True,
            )
        ],
        dtype=np.float64,
    )
    arrays = (
        market.ts,
        market.close,
        market.open,
        market.high,
        market.low,
        market.volume,
        market.spread,
        market.mark,
        market.index,
        log_index,
        sigma,
        kinds,
        inst_venue,
        cs,
        lot,
        tick,
        market.inst_underlying,
        market.iv,
        market.smile,
        market.funding_inst,
        market.funding_bar,
        market.funding_rate,
        due,
        fann,
    )
    return KernelMarket(arrays, names, inst_venue, fx, tiers)


def strategy_params(market: Market, venues: Sequence[VenueSpec], spec: RunSpec) -> np.ndarray:
    """One row of the configuration matrix (see :mod:`gammaperp.engine.enums`)."""
    p = np.zeros(E.N_PARAMS)
    ex = spec.execution
    p[E.P_SLIP_MODEL] = E.SLIPPAGE_MODELS[ex.slippage]
    p[E.P_SLIP_BPS] = ex.slippage_bps
    p[E.P_SLIP_K] = ex.vol_k
    p[E.P_IMPACT_K] = ex.impact_k
    p[E.P_HEDGE_INST] = -1
    p[E.P_OPT_INST] = -1
    p[E.P_LEG_A] = -1
    p[E.P_LEG_B] = -1
    _risk_params(p, spec.risk)
    st = spec.strategy
    if st is None:
        p[E.P_STRATEGY] = E.STRAT_NONE
        return p
    if isinstance(st, CarrySpec | PairSpec | ScalpSpec):
        _template_params(p, market, venues, st)
        return p
    if not isinstance(st, StraddleSpec):
        raise EngineError(f"unsupported strategy spec {type(st).__name__}")
    names = [v.name for v in venues]
    oi = market.instrument_index(st.instrument)
    inst = market.instruments[oi]
    u = int(market.inst_underlying[oi])
    if not np.isfinite(market.iv[u]).all():
        raise EngineError(
            f"options on {inst.underlying} need an implied-vol series: market.iv has none "
            f"(set a constant iv or load an IV file)"
        )
    ov = st.venue or inst.venue
    if ov not in names:
        raise EngineError(f"strategy.venue {ov!r} is not a configured venue ({names})")
    p[E.P_STRATEGY] = E.STRAT_STRADDLE
    p[E.P_SIDE] = st.side
    p[E.P_QTY] = st.quantity
    p[E.P_EXPIRY_NS] = st.expiry_days * NS_PER_DAY
    p[E.P_ROLL_BEFORE_NS] = st.roll_days_before * NS_PER_DAY
    p[E.P_CALL_MONEYNESS] = st.call_moneyness
    p[E.P_PUT_MONEYNESS] = st.put_moneyness
    p[E.P_STRIKE_STEP] = st.strike_step
    p[E.P_OPT_SETTLE] = 1.0 if st.settlement == "inverse" else 0.0
    p[E.P_OPT_FEE] = st.option_fee
    p[E.P_MODEL] = 1.0 if st.model == "black76" else 0.0
    p[E.P_RATE] = st.rate
    p[E.P_CARRY] = st.carry
    p[E.P_OPT_VENUE] = names.index(ov)
    p[E.P_OPT_INST] = oi
    coin = _venue_is_coin(market, venues, names.index(ov))
    if st.settlement == "linear" and coin:
        raise EngineError(f"linear (USD) options cannot sit on coin-margined venue {ov!r}")
    if st.settlement == "inverse" and not coin:
        raise EngineError(
            f"coin-settled (inverse) options need a coin-margined venue, but venue {ov!r} "
            "settles in USD: use option_settlement = 'linear' there, or hold the options on "
            "a venue whose perp is inverse (contract_type = 'inverse')"
        )
    if st.hedge_instrument is not None:
        hi = market.instrument_index(st.hedge_instrument, st.hedge_venue)
        if market.inst_underlying[hi] != u:
            raise EngineError(
                f"hedge instrument {st.hedge_instrument!r} has underlying "
                f"{market.instruments[hi].underlying}, the options are on {inst.underlying}"
            )
        p[E.P_HEDGE_INST] = hi
    p[E.P_BAND] = st.band
    p[E.P_TARGET] = E.TARGET_EDGE if st.target == "edge" else E.TARGET_ZERO
    p[E.P_ORDER_TYPE] = E.ORDER_LIMIT if st.order_type == "limit" else E.ORDER_MARKET
    p[E.P_LIMIT_OFFSET] = st.limit_offset
    p[E.P_TRIGGERS] = sum(E.TRIGGERS[x] for x in set(st.triggers))
    p[E.P_MOVE_ABS] = st.move_abs
    p[E.P_MOVE_PCT] = st.move_pct
    p[E.P_INTERVAL_NS] = st.interval_minutes * 60e9
    p[E.P_RISK_AVERSION] = st.risk_aversion
    p[E.P_CALL_DELTA] = st.call_delta
    p[E.P_PUT_DELTA] = st.put_delta
    p[E.P_BUDGET] = st.premium_budget
    if st.intrabar:
        _check_intrabar(market, spec, int(p[E.P_HEDGE_INST]))
        p[E.P_INTRABAR] = 1.0
    if st.leland:
        # Leland (1985): sqrt(2/pi) x round-trip cost (twice the hedge's taker fee) / sqrt(dt)
        hedge_venue = (
            names.index(market.instruments[int(p[E.P_HEDGE_INST])].venue)
            if p[E.P_HEDGE_INST] >= 0
            else names.index(ov)
        )
        k = 2.0 * venues[hedge_venue].taker_fee
        minutes = st.leland_interval_minutes or st.interval_minutes
        dt = minutes / (365.0 * 1440.0)
        p[E.P_LELAND_C] = math.sqrt(2.0 / math.pi) * k / math.sqrt(dt)
    return p


def _check_intrabar(market: Market, spec: RunSpec, hi: int) -> None:
    """Intrabar detection needs real high/low data, immediate fills and no caps."""
    if hi < 0:
        raise EngineError("hedge.intrabar needs a hedge instrument")
    inst = market.instruments[hi]
    fb = market.fallbacks.get(f"{inst.venue}:{inst.name}", ())
    missing = [x for x in ("high", "low") if x in fb]
    if missing:
        raise EngineError(
            f"hedge.intrabar needs bar {' and '.join(missing)} for {inst.venue}:{inst.name}; "
            "the market has closes only there (load OHLC data, or switch intrabar off)"
        )
    ex = spec.execution
    if ex.latency_ms > 0 or ex.latency == "lognormal":
        raise EngineError("hedge.intrabar fills at the crossing: it needs latency_ms = 0")
    if spec.risk.max_position > 0 or spec.risk.max_notional > 0:
        raise EngineError("hedge.intrabar cannot be combined with position / notional caps")


def _risk_params(p: np.ndarray, r: RiskSpec) -> None:
    ns_min = 60e9
    p[E.P_STOP_LOSS] = r.stop_loss_pct
    p[E.P_STOP_COOL_NS] = r.stop_cooldown_minutes * ns_min
    p[E.P_LEG_STOP] = r.leg_stop_pct
    p[E.P_LEG_COOL_NS] = r.leg_cooldown_minutes * ns_min
    p[E.P_MARGIN_BUF] = r.margin_buffer_pct
    p[E.P_MARGIN_ACT] = 1.0 if r.margin_action == "transfer" else 0.0
    p[E.P_MARGIN_FRAC] = r.margin_reduce_fraction
    p[E.P_VOL_SHORT] = r.vol_short_bars
    p[E.P_VOL_LONG] = r.vol_long_bars
    p[E.P_VOL_K] = r.vol_k
    p[E.P_VOL_ACT] = 1.0 if r.vol_action == "reduce" else 0.0
    p[E.P_VOL_FACTOR] = r.vol_reduce_factor
    p[E.P_TREND_FAST] = r.trend_fast_bars
    p[E.P_TREND_SLOW] = r.trend_slow_bars
    p[E.P_TREND_THR] = r.trend_threshold
    p[E.P_TREND_ACT] = 1.0 if r.trend_action == "bias" else 0.0
    p[E.P_TREND_BIAS] = r.trend_bias
    p[E.P_HEDGE_BIAS] = r.hedge_bias
    p[E.P_STREAK] = r.loss_streak
    p[E.P_STREAK_PAUSE_NS] = r.loss_pause_minutes * ns_min
    p[E.P_INV_RESET] = r.inventory_reset
    p[E.P_MAX_POS] = r.max_position
    p[E.P_MAX_NOTIONAL] = r.max_notional


def _leg(market: Market, venues: Sequence[VenueSpec], name: str, venue: str | None, key: str):
    """Instrument row of a template leg, checked against the configured venues."""
    try:
        i = market.instrument_index(name, venue)
    except Exception as exc:
        raise EngineError(f"strategy.{key}: {exc}") from None
    names = [v.name for v in venues]
    if market.instruments[i].venue not in names:
        raise EngineError(
            f"strategy.{key}: {name!r} trades on {market.instruments[i].venue!r}, which is not "
            f"a configured venue ({names})"
        )
    return i


def _template_params(
    p: np.ndarray,
    market: Market,
    venues: Sequence[VenueSpec],
    st: CarrySpec | PairSpec | ScalpSpec,
) -> None:
    kinds = [i.kind for i in market.instruments]
    if isinstance(st, CarrySpec):
        a = _leg(market, venues, st.long_instrument, st.long_venue, "long_instrument")
        b = _leg(market, venues, st.short_instrument, st.short_venue, "short_instrument")
        if a == b:
            raise EngineError("carry: the long and the short leg are the same instrument")
        if kinds[b] == "spot":
            raise EngineError(
                f"strategy.short_instrument: {st.short_instrument!r} is spot, which cannot be "
                "shorted here; the short leg must be a perp"
            )
        if kinds[a] == "spot" and (st.direction == "both" or st.on_adverse == "flip"):
            raise EngineError(
                f"strategy.long_instrument: {st.long_instrument!r} is spot: it cannot be "
                "shorted, so use direction = 'long_short' and on_adverse = 'exit'"
            )
        if market.inst_underlying[a] != market.inst_underlying[b]:
            raise EngineError("carry: both legs must be on the same underlying")
        p[E.P_STRATEGY] = E.STRAT_CARRY
        p[E.P_LEG_A] = a
        p[E.P_LEG_B] = b
        p[E.P_QTY] = st.quantity
        p[E.P_ENTRY] = st.entry_apr
        p[E.P_EXIT] = st.exit_apr
        p[E.P_FLIP] = 1.0 if st.on_adverse == "flip" else 0.0
        p[E.P_BOTH] = 1.0 if st.direction == "both" else 0.0
        p[E.P_TOL] = st.rebalance_tol
    elif isinstance(st, PairSpec):
        a = _leg(market, venues, st.long_instrument, st.long_venue, "long_instrument")
        b = _leg(market, venues, st.hedge_instrument, st.hedge_venue, "hedge_instrument")
        if a == b:
            raise EngineError("pair: the two legs are the same instrument")
        if (kinds[a] == "spot" and st.side < 0) or kinds[b] == "spot":
            raise EngineError("pair: a leg that is sold short must be a perp, not spot")
        p[E.P_STRATEGY] = E.STRAT_PAIR
        p[E.P_LEG_A] = a
        p[E.P_LEG_B] = b
        p[E.P_SIDE] = st.side
        p[E.P_NOTIONAL] = st.notional
        p[E.P_WINDOW] = st.window
        p[E.P_STEP] = st.return_bars
        p[E.P_TOL] = st.drift_tol
        if st.return_bars * (st.window + 1) > market.n_bars:
            raise EngineError(
                f"pair: the beta window ({st.window} returns of {st.return_bars} bars) is longer "
                f"than the market ({market.n_bars} bars)"
            )
    else:
        a = _leg(market, venues, st.instrument, st.venue, "instrument")
        if kinds[a] == "spot":
            raise EngineError("scalp: the instrument must be a perp (it goes short)")
        p[E.P_STRATEGY] = E.STRAT_SCALP
        p[E.P_LEG_A] = a
        p[E.P_QTY] = st.quantity
        p[E.P_MAX_INV] = st.max_inventory
        p[E.P_WINDOW] = st.centre_bars
        p[E.P_ENTRY] = st.band_pct
        p[E.P_ORDER_TYPE] = E.ORDER_LIMIT if st.order_type == "limit" else E.ORDER_MARKET


def _venue_is_coin(market: Market, venues: Sequence[VenueSpec], v: int) -> bool:
    names = [x.name for x in venues]
    return any(i.kind == "perp_inverse" and names.index(i.venue) == v for i in market.instruments)


def venue_params(venues: Sequence[VenueSpec]) -> np.ndarray:
    vp = np.zeros((len(venues), E.N_VENUE_PARAMS))
    for j, v in enumerate(venues):
        vp[j, E.V_TAKER] = v.taker_fee
        vp[j, E.V_MAKER] = v.maker_fee
        vp[j, E.V_LEVERAGE] = v.leverage
        vp[j, E.V_CAPITAL] = v.capital
        vp[j, E.V_LIQ_FEE] = v.liquidation_fee
        vp[j, E.V_ON_LIQ] = 1.0 if v.on_liquidation == "continue" else 0.0
        vp[j, E.V_ISOLATED] = 1.0 if v.margin_mode == "isolated" else 0.0
    return vp


def scheduled_orders(market: Market, specs: Sequence[RunSpec]) -> tuple[np.ndarray, ...]:
    """Concatenate each spec's scripted orders into flat arrays with per-config offsets."""
    starts = [0]
    cols: list[list[np.ndarray]] = [[], [], [], [], []]
    for s in specs:
        o = s.orders
        if o is None:
            starts.append(starts[-1])
            continue
        bar = np.asarray(o.bar, dtype=np.int64)
        n = bar.shape[0]
        inst = np.array(
            [market.instrument_index(x) if isinstance(x, str) else int(x) for x in o.instrument],
            dtype=np.int64,
        ).reshape(n)
        qty = np.asarray(o.qty, dtype=np.float64).reshape(n)
        typ = np.array(
            [
                E.ORDER_LIMIT if x == "limit" else E.ORDER_MARKET
                for x in (o.order_type if o.order_type is not None else ["market"] * n)
            ],
            dtype=np.int64,
        ).reshape(n)
        lim = np.zeros(n) if o.limit is None else np.asarray(o.limit, dtype=np.float64).reshape(n)
        if n:
            if (bar < 0).any() or (bar >= market.n_bars).any():
                i = int(np.argmax((bar < 0) | (bar >= market.n_bars)))
                raise EngineError(f"orders row {i}: bar {bar[i]} outside 0..{market.n_bars - 1}")
            if (np.diff(bar) < 0).any():
                i = int(np.argmax(np.diff(bar) < 0)) + 1
                raise EngineError(f"orders row {i}: bars must be sorted ascending")
            if (qty == 0).any() or not np.isfinite(qty).all():
                i = int(np.argmax((qty == 0) | ~np.isfinite(qty)))
                raise EngineError(f"orders row {i}: qty must be finite and non-zero")
            bad = (typ == E.ORDER_LIMIT) & ~(lim > 0)
            if bad.any():
                i = int(np.argmax(bad))
                raise EngineError(f"orders row {i}: a limit order needs a positive limit price")
        for j, arr in enumerate((bar, inst, qty, typ, lim)):
            cols[j].append(arr)
        starts.append(starts[-1] + n)
    out = [np.asarray(starts, dtype=np.int64)]
    for j, dt in enumerate((np.int64, np.int64, np.float64, np.int64, np.float64)):
        out.append(np.concatenate(cols[j]).astype(dt) if cols[j] else np.zeros(0, dt))
    return tuple(out)


@dataclass
class BatchOutput:
    """Raw kernel output for a batch (one row per configuration)."""

    steps: np.ndarray
    totals: np.ndarray
    blotter: tuple[np.ndarray, np.ndarray]
    funding: tuple[np.ndarray, np.ndarray]
    rolls: tuple[np.ndarray, np.ndarray]
    liquidations: tuple[np.ndarray, np.ndarray]
    events: tuple[np.ndarray, np.ndarray]


def run_kernel(
    market: Market,
    specs: Sequence[RunSpec],
    *,
    record: Literal["full", "summary"] = "full",
    parallel: bool | None = None,
    capacity: int | None = None,
    stride: int | None = None,
    strategy: object | None = None,
) -> tuple[KernelMarket, BatchOutput, int]:
    """Run every spec over ``market`` in one compiled pass; returns the raw arrays.

    ``record="full"`` keeps every step (stride 1), the blotter and every ledger.
    ``record="summary"`` keeps totals plus one equity column per ``stride`` bars (default: one
    per day), no blotter: the mode for large sweeps. Returns ``(market arrays, output,
    stride)``.

    All specs of a batch must share venues (names and order) and execution timing (latency and
    the sigma window): those shape market-side arrays. Strategy, hedge, fee, capital and
    slippage parameters may differ per spec (they are configuration columns).

    ``strategy``: a Python strategy (``decide(state) -> orders``, see
    :mod:`gammaperp.strategies.protocol`) asked for orders at every bar of every configuration
    (sequentially: the Python path does not run in parallel).
    """
    if not specs:
        raise EngineError("no configurations to run")
    first = specs[0]
    for s in specs[1:]:
        if tuple(v.name for v in s.venues) != tuple(v.name for v in first.venues):
            raise EngineError("all configurations of a batch must use the same venues")
        a, b = s.execution, first.execution
        if (
            a.latency,
            a.latency_ms,
            a.latency_sigma,
            a.latency_vol_widening,
            a.sigma_window,
            a.seed,
        ) != (
            b.latency,
            b.latency_ms,
            b.latency_sigma,
            b.latency_vol_widening,
            b.sigma_window,
            b.seed,
        ):
            raise EngineError("all configurations of a batch must share latency settings")
    need_sigma = (
        any(s.execution.slippage in ("vol_scaled", "sqrt_impact") for s in specs)
        or first.execution.latency_vol_widening > 0
    )
    params = np.stack([strategy_params(market, s.venues, s) for s in specs])
    km = kernel_market(
        market,
        first.venues,
        first.execution,
        need_sigma=need_sigma,
        option_rows=params[:, E.P_OPT_INST].astype(np.int64),
    )
    vparams = np.stack([venue_params(s.venues) for s in specs])
    n_cfg = len(specs)
    n = market.n_bars
    sched = scheduled_orders(market, specs)
    full = record == "full"
    if record not in ("full", "summary"):
        raise EngineError(f"record must be 'full' or 'summary', got {record!r}")
    if full:
        stride = 1
    elif stride is None:
        bar_s = market.bar_seconds
        stride = max(1, round(86_400 / bar_s)) if np.isfinite(bar_s) and bar_s > 0 else 1
    if stride < 1:
        raise EngineError(f"stride must be >= 1, got {stride}")
    n_rec = (n + stride - 1) // stride
    # blotter rows: a generous first guess (1 fill per 32 bars); a run that fills more is
    # re-run once with the exact capacity
    cap = capacity if capacity is not None else (max(1024, n // 32) if full else 0)
    n_funding = int(market.funding_bar.shape[0]) if full else 0
    cap_roll = max(64, 4 * n // 1440 + 64) if full else 0
    lq_cap = 64 if full else 0
    ev_cap = 256 if full else 0
    if parallel is None:
        parallel = n_cfg > 1
    # the lean kernel specialization unless a configuration needs the full one
    full_kernel = np.ones(1) if needs_full_kernel(params) else None
    py_buf = None
    if strategy is not None:
        parallel = False
        py_buf = np.zeros((MAX_ORDERS, 5))
    while True:
        steps = np.zeros((n_cfg, E.N_STEP, n_rec))
        totals = np.zeros((n_cfg, E.N_TOTALS))
        bl = (np.zeros((n_cfg, cap, BL_I), np.int64), np.zeros((n_cfg, cap, BL_F)))
        fl = (np.zeros((n_cfg, n_funding, FL_I), np.int64), np.zeros((n_cfg, n_funding, FL_F)))
        rl = (np.zeros((n_cfg, cap_roll, RL_I), np.int64), np.zeros((n_cfg, cap_roll, RL_F)))
        lq = (np.zeros((n_cfg, lq_cap, LQ_I), np.int64), np.zeros((n_cfg, lq_cap, LQ_F)))
        ev = (np.zeros((n_cfg, ev_cap, EV_I), np.int64), np.zeros((n_cfg, ev_cap, EV_F)))
        args = (
            *km.arrays,
            km.venue_fx_inst,
            *km.tiers,
            params,
            vparams,
            stride,
            *sched,
            steps,
            totals,
            bl[0],
            bl[1],
            fl[0],
            fl[1],
            rl[0],
            rl[1],
            lq[0],
            lq[1],
            ev[0],
            ev[1],
            full_kernel,
        )
        if parallel:
            _run_batch_nb(n_cfg, *args)
        elif py_buf is not None:
            from gammaperp.strategies.protocol import active

            with active(strategy, market, km):
                for c in range(n_cfg):
                    run_config_nb(c, *args, py_buf)
        else:
            for c in range(n_cfg):
                run_config_nb(c, *args)
        if not full:
            break
        over = (
            (totals[:, E.T_BLOTTER_N] > cap).any()
            or (totals[:, E.T_ROLL_N] > cap_roll).any()
            or (totals[:, E.T_LIQ_N] > lq_cap).any()
            or (totals[:, E.T_EVENT_N] > ev_cap).any()
        )
        if not over:
            break
        cap = int(max(cap, totals[:, E.T_BLOTTER_N].max())) + 1
        cap_roll = int(max(cap_roll, totals[:, E.T_ROLL_N].max())) + 1
        lq_cap = int(max(lq_cap, totals[:, E.T_LIQ_N].max())) + 1
        ev_cap = int(max(ev_cap, totals[:, E.T_EVENT_N].max())) + 1
    return km, BatchOutput(steps, totals, bl, fl, rl, lq, ev), stride
