"""Margin and liquidation primitives for the simulation kernel.

Everything the kernel calls once per bar is a ``@njit(cache=True)`` function whose name ends in
``_nb`` and that takes only scalars and flat ``float64`` arrays, so it can be called from other
numba functions. Each has a plain-Python wrapper (same name without ``_nb``) that validates its
arguments and raises :class:`~gammaperp.errors.EngineError` (a ``ValueError``) naming the bad
argument.

Tiered maintenance margin ("tax brackets")
------------------------------------------
A table is five parallel arrays (:class:`Tiers`): ``notional_floor``, ``notional_cap``,
``max_leverage``, ``mmr`` and ``maint_amount``. A position of absolute notional ``n`` falls in
the first bracket ``i`` with ``n <= notional_cap[i]`` (Binance's ``floor < n <= cap``) and needs::

    maint = n * mmr[i] - maint_amount[i]

``maint_amount`` (Binance's ``cum``) is fixed by continuity at every bracket boundary::

    maint_amount[0] = 0
    maint_amount[i] = maint_amount[i - 1] + notional_floor[i] * (mmr[i] - mmr[i - 1])

so ``maint`` is a continuous, convex, piecewise-linear function of ``n``. Notionals above the
last cap (the exchange's position limit) keep the last bracket's rate; :func:`max_leverage_ok`
reports them as not allowed.

Units: linear (USDT-M) tables are in quote currency (USDT); inverse (COIN-M) tables are in coin
(BTC notional = contracts * contract_size / price) and so are their maintenance amounts.

See ``docs/margin.md`` for the formulas, the tables' provenance and the limitations.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from gammaperp.errors import EngineError

__all__ = [
    "TABLE_NAMES",
    "Tiers",
    "bracket_index",
    "bracket_index_nb",
    "get_tiers",
    "initial_margin",
    "initial_margin_nb",
    "is_liquidatable",
    "is_liquidatable_nb",
    "liquidation_fee",
    "liquidation_fee_nb",
    "liquidation_price_inverse",
    "liquidation_price_inverse_nb",
    "liquidation_price_linear",
    "liquidation_price_linear_nb",
    "maint_margin",
    "maint_margin_nb",
    "make_tiers",
    "margin_ratio",
    "margin_ratio_nb",
    "max_leverage_nb",
    "max_leverage_ok",
    "max_leverage_ok_nb",
    "option_margin_nb",
    "short_option_margin",
    "short_option_margin_nb",
    "validate_tiers",
]


# --------------------------------------------------------------------------------------------
# Tier tables
# --------------------------------------------------------------------------------------------


class Tiers(NamedTuple):
    """A maintenance-margin bracket table as flat ``float64`` arrays (one entry per bracket)."""

    notional_floor: np.ndarray
    notional_cap: np.ndarray
    max_leverage: np.ndarray
    mmr: np.ndarray
    maint_amount: np.ndarray

    @property
    def n_brackets(self) -> int:
        return int(self.mmr.shape[0])


def make_tiers(caps, max_leverage, mmr) -> Tiers:
    """Build a :class:`Tiers` from bracket caps, max leverages and rates.

    Floors are the previous caps (the first is 0) and ``maint_amount`` is computed from
    continuity, so a table needs only the three published columns. The result is validated.
    """
    cap = np.ascontiguousarray(caps, dtype=np.float64)
    lev = np.ascontiguousarray(max_leverage, dtype=np.float64)
    rate = np.ascontiguousarray(mmr, dtype=np.float64)
    if cap.ndim != 1 or cap.shape[0] == 0:
        raise EngineError("caps must be a non-empty 1-D sequence")
    if lev.shape != cap.shape:
        raise EngineError(f"max_leverage has {lev.shape[0]} entries, caps has {cap.shape[0]}")
    if rate.shape != cap.shape:
        raise EngineError(f"mmr has {rate.shape[0]} entries, caps has {cap.shape[0]}")
    floor = np.empty_like(cap)
    floor[0] = 0.0
    floor[1:] = cap[:-1]
    amt = np.empty_like(cap)
    amt[0] = 0.0
    for i in range(1, cap.shape[0]):
        amt[i] = amt[i - 1] + floor[i] * (rate[i] - rate[i - 1])
    tiers = Tiers(floor, cap, lev, rate, amt)
    validate_tiers(tiers)
    return tiers


def validate_tiers(tiers: Tiers, *, rtol: float = 1e-12) -> None:
    """Check a table: contiguous increasing brackets, rates in (0, 1) non-decreasing, leverage
    >= 1 non-increasing, and ``maint_amount`` continuous at every boundary."""
    floor, cap, lev, rate, amt = (np.asarray(a, dtype=np.float64) for a in tiers)
    n = rate.shape[0]
    for name, arr in zip(Tiers._fields, (floor, cap, lev, rate, amt), strict=True):
        if arr.ndim != 1 or arr.shape[0] != n or n == 0:
            raise EngineError(f"tiers.{name} must be 1-D with one entry per bracket")
        if np.isnan(arr).any():
            raise EngineError(f"tiers.{name} contains NaN")
    if floor[0] != 0.0:
        raise EngineError("tiers.notional_floor[0] must be 0")
    if not (cap > floor).all():
        raise EngineError("tiers.notional_cap must exceed tiers.notional_floor in every bracket")
    if not np.array_equal(floor[1:], cap[:-1]):
        raise EngineError("tiers.notional_floor[i] must equal tiers.notional_cap[i - 1]")
    if not ((rate > 0.0) & (rate < 1.0)).all():
        raise EngineError("tiers.mmr must be in (0, 1)")
    if not (np.diff(rate) >= 0.0).all():
        raise EngineError("tiers.mmr must be non-decreasing")
    if not ((lev >= 1.0).all() and (np.diff(lev) <= 0.0).all()):
        raise EngineError("tiers.max_leverage must be >= 1 and non-increasing")
    if amt[0] != 0.0:
        raise EngineError("tiers.maint_amount[0] must be 0")
    for i in range(1, n):
        left = floor[i] * rate[i - 1] - amt[i - 1]
        right = floor[i] * rate[i] - amt[i]
        if abs(left - right) > rtol * max(1.0, abs(left)):
            raise EngineError(
                f"tiers.maint_amount[{i}] = {amt[i]!r} breaks continuity at notional "
                f"{floor[i]!r} ({left!r} vs {right!r})"
            )


# Binance USDT-M BTCUSDT perpetual: bracket caps (USDT), max leverage, maintenance margin rate.
# Source: Binance GET /fapi/v1/leverageBracket for BTCUSDT as captured in the public snapshot
# freqtrade/freqtrade freqtrade/exchange/binance_leverage_tiers.json, commit
# 01d10aebcab25c526473c603a88e14eb7d9699cc (the snapshot lists the BTCUSDT 240927 / 241227
# quarterlies, i.e. it was taken in mid-2024). Published cum values: 0, 50, 950, 11,450,
# 131,450, 481,450, 2,981,450, 14,481,450, 26,481,450, 41,481,450, 121,481,450, 421,481,450 -
# identical to the continuity-derived ones (tested).
_BINANCE_USDM_BTC = (
    (50_000.0, 600_000.0, 3_000_000.0, 12_000_000.0, 70_000_000.0, 100_000_000.0,
     230_000_000.0, 480_000_000.0, 600_000_000.0, 800_000_000.0, 1_200_000_000.0,
     1_800_000_000.0),
    (125.0, 100.0, 75.0, 50.0, 25.0, 20.0, 10.0, 5.0, 4.0, 3.0, 2.0, 1.0),
    (0.004, 0.005, 0.0065, 0.01, 0.02, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50),
)  # fmt: skip

# Binance USDT-M ETHUSDT perpetual, same source and snapshot. Published cum: 0, 50, 950,
# 11,450, 131,450, 381,450, 2,006,450, 9,506,450, 17,506,450, 27,506,450, 80,506,450,
# 280,506,450.
_BINANCE_USDM_ETH = (
    (50_000.0, 600_000.0, 3_000_000.0, 12_000_000.0, 50_000_000.0, 65_000_000.0,
     150_000_000.0, 320_000_000.0, 400_000_000.0, 530_000_000.0, 800_000_000.0,
     1_200_000_000.0),
    (125.0, 100.0, 75.0, 50.0, 25.0, 20.0, 10.0, 5.0, 4.0, 3.0, 2.0, 1.0),
    (0.004, 0.005, 0.0065, 0.01, 0.02, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50),
)  # fmt: skip

# Binance COIN-M BTCUSD_PERP (contract size 100 USD), notional in BTC. Caps and leverages:
# Binance FAQ "Leverage and Margin in Coin-Margined Futures Contracts" (article dated
# 2020-06-11; BTCUSD perpetual column: 125x max 5, 100x max 10, 50x max 20, 20x max 50, 10x max
# 100, 5x max 200, 4x max 400, 3x max 1,000, 2x above 1,000). That page gives no maintenance
# rates: the rates below are Binance's standard ladder (maintenance = half the initial margin
# rate at the bracket's max leverage: 0.4 %, 0.5 %, 1 %, 2.5 %, 5 %, 10 %, 12.5 %, 15 %, 25 %),
# consistent with the 125x / 0.4 % first bracket in Binance's COIN-M leverageBracket API
# example. The last (2x) bracket has no cap (the FAQ says only "above 1,000"); the FAQ's 1x
# row, also "above 1,000", is omitted. NOT verified against a current table - see
# docs/margin.md.
_BINANCE_COINM_BTC = (
    (5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 400.0, 1_000.0, math.inf),
    (125.0, 100.0, 50.0, 20.0, 10.0, 5.0, 4.0, 3.0, 2.0),
    (0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25),
)  # fmt: skip

_TABLES = {
    "binance-usdm-btc": _BINANCE_USDM_BTC,
    "binance-usdm-eth": _BINANCE_USDM_ETH,
    "binance-coinm-btc": _BINANCE_COINM_BTC,
}

#: Names accepted by :func:`get_tiers`.
TABLE_NAMES: tuple[str, ...] = (*_TABLES, "flat")


def get_tiers(name: str, flat_mmr: float = 0.005) -> Tiers:
    """Return a fresh copy of the named bracket table.

    ``"binance-usdm-btc"`` and ``"binance-usdm-eth"`` are Binance USDT-M BTCUSDT / ETHUSDT
    perpetual brackets in USDT notional (mid-2024 snapshot of the exchange's leverageBracket
    endpoint). ``"binance-coinm-btc"`` is Binance COIN-M BTCUSD_PERP in BTC notional
    (reconstructed, see ``docs/margin.md``). ``"flat"`` is a single unbounded bracket with
    rate ``flat_mmr`` and max leverage ``1 / (2 * flat_mmr)`` (Binance's convention that the
    maintenance rate is half the initial rate at max leverage).
    """
    if name == "flat":
        rate = _num("flat_mmr", flat_mmr, lo=0.0, lo_open=True, hi=1.0, hi_open=True)
        return make_tiers([math.inf], [max(1.0, 1.0 / (2.0 * rate))], [rate])
    try:
        caps, lev, rate = _TABLES[name]
    except (KeyError, TypeError):
        raise EngineError(
            f"unknown margin tier table {name!r}; known tables: {', '.join(TABLE_NAMES)}"
        ) from None
    return make_tiers(caps, lev, rate)


def _as_tiers(tiers: Tiers | str) -> Tiers:
    if isinstance(tiers, str):
        return get_tiers(tiers)
    if isinstance(tiers, Tiers):
        return tiers
    raise EngineError(f"tiers must be a Tiers or a table name, got {type(tiers).__name__}")


# --------------------------------------------------------------------------------------------
# Brackets, maintenance and initial margin
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def bracket_index_nb(notional_abs, cap):
    """Index of the bracket holding ``notional_abs``: the first ``i`` with
    ``notional_abs <= cap[i]``; notionals above the last cap (and NaN) map to the last bracket."""
    n = cap.shape[0]
    for i in range(n - 1):
        if notional_abs <= cap[i]:
            return i
    return n - 1


@njit(cache=True, inline="always")
def maint_margin_nb(notional_abs, floor, cap, mmr, amt):
    """Maintenance margin ``notional_abs * mmr[i] - amt[i]`` of the bracket holding the notional.

    ``floor`` is unused (the bracket is found from ``cap``); it is taken so that every tier
    primitive has the same argument list.
    """
    i = bracket_index_nb(notional_abs, cap)
    return notional_abs * mmr[i] - amt[i]


@njit(cache=True)
def initial_margin_nb(notional_abs, leverage):
    """Initial margin of a position opened at ``leverage``: ``notional_abs / leverage``."""
    return notional_abs / leverage


@njit(cache=True)
def max_leverage_nb(notional_abs, cap, max_lev):
    """Highest leverage allowed for a position of ``notional_abs`` (0 above the last cap)."""
    if notional_abs > cap[cap.shape[0] - 1]:
        return 0.0
    return max_lev[bracket_index_nb(notional_abs, cap)]


@njit(cache=True)
def max_leverage_ok_nb(notional_abs, leverage, cap, max_lev):
    """True if ``leverage`` is allowed for a position of ``notional_abs`` (within the position
    limit and at most the bracket's max leverage)."""
    return leverage <= max_leverage_nb(notional_abs, cap, max_lev)


@njit(cache=True)
def margin_ratio_nb(maint, margin_balance):
    """Binance's margin ratio ``maint / margin_balance``; ``inf`` if the balance is not positive
    and there is margin to maintain, 0 when nothing needs maintaining."""
    if maint <= 0.0:
        return 0.0
    if margin_balance <= 0.0:
        return np.inf
    return maint / margin_balance


@njit(cache=True)
def is_liquidatable_nb(equity, maint):
    """True when a position must be liquidated: there is margin to maintain and the margin
    balance (equity) has fallen to or below it (margin ratio >= 100 %)."""
    return maint > 0.0 and equity <= maint


@njit(cache=True)
def liquidation_fee_nb(notional_abs, fee_rate):
    """Liquidation (clearance) fee charged on the liquidated notional: ``notional * fee_rate``."""
    return notional_abs * fee_rate


# --------------------------------------------------------------------------------------------
# Liquidation prices (Binance one-way mode)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _lp_linear_bracket_nb(side, size, entry_price, other, mmr_b, amt_b):
    # other = WB - TMM1 + UPNL1
    return (other + amt_b - side * size * entry_price) / (size * mmr_b - side * size)


@njit(cache=True)
def liquidation_price_linear_nb(
    side, size, entry_price, wallet_balance, other_maint, other_upnl, floor, cap, mmr, amt
):
    """Liquidation price of a linear (USDT-M) perpetual position, Binance one-way mode::

        LP = (WB - TMM1 + UPNL1 + cumB - side * size * EP) / (size * MMR_B - side * size)

    ``side`` is +1 (long) or -1 (short), ``size`` the absolute quantity in coin,
    ``entry_price`` EP, ``wallet_balance`` WB (isolated: the position's isolated margin; cross:
    the cross wallet balance), ``other_maint`` / ``other_upnl`` the maintenance margin and
    unrealised PnL of every other cross position (0 in isolated mode). ``MMR_B`` / ``cumB`` are
    those of the bracket holding the notional ``size * LP`` at the liquidation price: starting
    from the entry bracket, the bracket is moved one step up or down until the price the formula
    gives lies in it (the search is monotone because maintenance margin is convex in notional).

    Returns ``nan`` for ``size == 0``. A result clipped to 0 means: long - cannot be liquidated
    at any positive price; short - liquidatable at any price.
    """
    if size == 0.0:
        return np.nan
    other = wallet_balance - other_maint + other_upnl
    n = mmr.shape[0]
    b = bracket_index_nb(size * entry_price, cap)
    lp = _lp_linear_bracket_nb(side, size, entry_price, other, mmr[b], amt[b])
    for _ in range(n):
        notional = size * lp
        if notional > cap[b] and b < n - 1:
            b += 1
        elif notional < floor[b] and b > 0:
            b -= 1
        else:
            break
        lp = _lp_linear_bracket_nb(side, size, entry_price, other, mmr[b], amt[b])
    if lp <= 0.0:
        return 0.0
    return lp


@njit(cache=True)
def _inv_lp_inverse_bracket_nb(side, size, entry_price, other, mmr_b, amt_b):
    # 1 / LP; other = WB - TMM1 + UPNL1 (coin)
    return (other + amt_b + side * size / entry_price) / (size * mmr_b + side * size)


@njit(cache=True)
def liquidation_price_inverse_nb(
    side, size, entry_price, wallet_balance, other_maint, other_upnl, floor, cap, mmr, amt
):
    """Liquidation price of an inverse (COIN-M) perpetual position, Binance one-way mode::

        LP = (size * MMR_B + side * size) / (WB - TMM1 + UPNL1 + cumB + side * size / EP)

    ``size`` is the absolute position in USD (contracts * contract_size), ``wallet_balance``,
    ``other_maint``, ``other_upnl`` and the table's ``amt`` are in coin, and the bracket is the
    one holding the coin notional ``size / LP`` (found as in
    :func:`liquidation_price_linear_nb`). Returns ``nan`` for ``size == 0`` and ``inf`` for a
    short that cannot be liquidated at any price (fully collateralised in coin).
    """
    if size == 0.0:
        return np.nan
    other = wallet_balance - other_maint + other_upnl
    n = mmr.shape[0]
    b = bracket_index_nb(size / entry_price, cap)
    x = _inv_lp_inverse_bracket_nb(side, size, entry_price, other, mmr[b], amt[b])
    for _ in range(n):
        notional = size * x  # coin notional at the candidate price 1 / x
        if notional > cap[b] and b < n - 1:
            b += 1
        elif notional < floor[b] and b > 0:
            b -= 1
        else:
            break
        x = _inv_lp_inverse_bracket_nb(side, size, entry_price, other, mmr[b], amt[b])
    if x <= 0.0:
        return np.inf
    return 1.0 / x


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def short_option_margin_nb(is_call, S, K, mark, initial):
    """Margin per unit of underlying of a SHORT option, USD (linear) basis, Deribit-style::

        initial     = max(0.15 - OTM / S, 0.10) * S + mark
        maintenance = 0.075 * S + mark

    with ``OTM = max(K - S, 0)`` for a call and ``max(S - K, 0)`` for a put, ``S`` the
    underlying (index) price and ``mark`` the option's mark price in USD. This is Deribit's
    standard-margin rule for inverse options restated in USD; see ``docs/margin.md``.
    """
    if initial:
        if is_call:
            otm = K - S
        else:
            otm = S - K
        if otm < 0.0:
            otm = 0.0
        rate = 0.15 - otm / S
        if rate < 0.10:
            rate = 0.10
        return rate * S + mark
    return 0.075 * S + mark


@njit(cache=True)
def option_margin_nb(qty, is_call, S, K, mark, initial):
    """Margin of an option position of signed ``qty`` (underlying units): 0 for a long (the
    premium is paid in full), ``|qty| * short_option_margin_nb(...)`` for a short."""
    if qty >= 0.0:
        return 0.0
    return -qty * short_option_margin_nb(is_call, S, K, mark, initial)


# --------------------------------------------------------------------------------------------
# Python wrappers (validate, then call the kernels)
# --------------------------------------------------------------------------------------------


def _num(name: str, value, *, lo=None, lo_open=False, hi=None, hi_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise EngineError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise EngineError(f"{name} must be finite, got {v!r}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise EngineError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {v!r}")
    if hi is not None and (v >= hi if hi_open else v > hi):
        raise EngineError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {v!r}")
    return v


def _side(side) -> float:
    if isinstance(side, bool) or side not in (1, -1):
        raise EngineError(f"side must be +1 (long) or -1 (short), got {side!r}")
    return float(side)


def bracket_index(notional_abs: float, tiers: Tiers | str) -> int:
    """Index of the bracket of ``tiers`` that holds ``notional_abs`` (>= 0)."""
    t = _as_tiers(tiers)
    return int(bracket_index_nb(_num("notional_abs", notional_abs, lo=0.0), t.notional_cap))


def maint_margin(notional_abs: float, tiers: Tiers | str) -> float:
    """Maintenance margin of a position of absolute notional ``notional_abs`` (>= 0)."""
    t = _as_tiers(tiers)
    n = _num("notional_abs", notional_abs, lo=0.0)
    return float(maint_margin_nb(n, t.notional_floor, t.notional_cap, t.mmr, t.maint_amount))


def initial_margin(notional_abs: float, leverage: float) -> float:
    """Initial margin ``notional_abs / leverage`` (``leverage`` >= 1)."""
    n = _num("notional_abs", notional_abs, lo=0.0)
    return float(initial_margin_nb(n, _num("leverage", leverage, lo=1.0)))


def max_leverage_ok(notional_abs: float, leverage: float, tiers: Tiers | str) -> bool:
    """True if a position of ``notional_abs`` may use ``leverage`` under ``tiers``."""
    t = _as_tiers(tiers)
    n = _num("notional_abs", notional_abs, lo=0.0)
    lev = _num("leverage", leverage, lo=1.0)
    return bool(max_leverage_ok_nb(n, lev, t.notional_cap, t.max_leverage))


def margin_ratio(maint: float, margin_balance: float) -> float:
    """Margin ratio ``maint / margin_balance`` (liquidation at >= 1)."""
    return float(
        margin_ratio_nb(_num("maint", maint, lo=0.0), _num("margin_balance", margin_balance))
    )


def is_liquidatable(equity: float, maint: float) -> bool:
    """True when ``equity`` (margin balance) is at or below ``maint`` (> 0)."""
    return bool(is_liquidatable_nb(_num("equity", equity), _num("maint", maint, lo=0.0)))


def liquidation_fee(notional_abs: float, fee_rate: float) -> float:
    """Liquidation fee ``notional_abs * fee_rate``."""
    n = _num("notional_abs", notional_abs, lo=0.0)
    return float(liquidation_fee_nb(n, _num("fee_rate", fee_rate, lo=0.0, hi=1.0)))


def _lp_args(side, size, entry_price, wallet_balance, other_maint, other_upnl):
    return (
        _side(side),
        _num("size", size, lo=0.0, lo_open=True),
        _num("entry_price", entry_price, lo=0.0, lo_open=True),
        _num("wallet_balance", wallet_balance, lo=0.0),
        _num("other_maint", other_maint, lo=0.0),
        _num("other_upnl", other_upnl),
    )


def liquidation_price_linear(
    side: int,
    size: float,
    entry_price: float,
    wallet_balance: float,
    tiers: Tiers | str = "binance-usdm-btc",
    *,
    other_maint: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """Liquidation price of a linear (USDT-M) position; see
    :func:`liquidation_price_linear_nb`. Isolated mode: ``wallet_balance`` is the isolated
    margin and ``other_maint = other_upnl = 0``."""
    t = _as_tiers(tiers)
    args = _lp_args(side, size, entry_price, wallet_balance, other_maint, other_upnl)
    return float(liquidation_price_linear_nb(*args, *_tier_arrays(t)))


def liquidation_price_inverse(
    side: int,
    size: float,
    entry_price: float,
    wallet_balance: float,
    tiers: Tiers | str = "binance-coinm-btc",
    *,
    other_maint: float = 0.0,
    other_upnl: float = 0.0,
) -> float:
    """Liquidation price of an inverse (COIN-M) position, ``size`` in USD and balances in coin;
    see :func:`liquidation_price_inverse_nb`."""
    t = _as_tiers(tiers)
    args = _lp_args(side, size, entry_price, wallet_balance, other_maint, other_upnl)
    return float(liquidation_price_inverse_nb(*args, *_tier_arrays(t)))


def _tier_arrays(t: Tiers):
    return t.notional_floor, t.notional_cap, t.mmr, t.maint_amount


def short_option_margin(is_call: bool, S: float, K: float, mark: float, initial: bool) -> float:
    """Initial (``initial=True``) or maintenance margin per unit of a short option, USD; see
    :func:`short_option_margin_nb`."""
    if not isinstance(is_call, bool | np.bool_):
        raise EngineError(f"is_call must be a bool, got {type(is_call).__name__}")
    if not isinstance(initial, bool | np.bool_):
        raise EngineError(f"initial must be a bool, got {type(initial).__name__}")
    return float(
        short_option_margin_nb(
            bool(is_call),
            _num("S", S, lo=0.0, lo_open=True),
            _num("K", K, lo=0.0, lo_open=True),
            _num("mark", mark, lo=0.0),
            bool(initial),
        )
    )
