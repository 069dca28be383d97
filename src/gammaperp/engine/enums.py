"""Integer codes and parameter-column indices shared by the numba kernel and Python.

A batch of configurations is a float64 matrix ``params[n_cfg, N_PARAMS]`` (one row per
configuration, vectorbt-style "configuration columns") plus per-venue rows
``venue_params[n_cfg, n_venues, N_VENUE_PARAMS]``. The kernel reads columns by these indices.
"""

from __future__ import annotations

# --- instrument kinds (Instrument.kind_code) -------------------------------------------------
SPOT = 0
PERP_LINEAR = 1
PERP_INVERSE = 2

# --- strategies ------------------------------------------------------------------------------
STRAT_NONE = 0  # no built-in strategy: positions come only from the Python step API
STRAT_STRADDLE = 1  # long/short straddle or strangle, rolled, delta-hedged with a perp
STRAT_CARRY = 2  # funding carry between two legs (two-venue perps, cash-and-carry)
STRAT_PAIR = 3  # cross-asset: one perp against another, hedge ratio = rolling beta
STRAT_SCALP = 4  # perp band scalping around a moving centre

# --- order types, trigger targets ------------------------------------------------------------
ORDER_MARKET = 0
ORDER_LIMIT = 1
TARGET_ZERO = 0
TARGET_EDGE = 1

# --- hedge triggers (bitmask, combinable) ----------------------------------------------------
TRIG_BAND = 1  # |net delta| > band
TRIG_PRICE = 2  # hedge price moved by P_MOVE_ABS USD or P_MOVE_PCT since the last hedge
TRIG_TIME = 4  # P_INTERVAL_NS elapsed since the last hedge
TRIG_WW = 8  # |net delta| > Whalley-Wilmott band (fee rate, gamma, risk aversion)
TRIGGERS = {"band": TRIG_BAND, "price": TRIG_PRICE, "time": TRIG_TIME,
            "whalley_wilmott": TRIG_WW}  # fmt: skip

# --- slippage models -------------------------------------------------------------------------
SLIP_NONE = 0
SLIP_FIXED_BPS = 1
SLIP_HALF_SPREAD = 2
SLIP_VOL_SCALED = 3
SLIP_SQRT_IMPACT = 4
SLIPPAGE_MODELS = {
    "none": SLIP_NONE,
    "fixed_bps": SLIP_FIXED_BPS,
    "half_spread": SLIP_HALF_SPREAD,
    "vol_scaled": SLIP_VOL_SCALED,
    "sqrt_impact": SLIP_SQRT_IMPACT,
}

# --- reasons written into the blotter --------------------------------------------------------
R_HEDGE = 1
R_OPEN = 2
R_ROLL_CLOSE = 3
R_EXPIRY = 4
R_LIQUIDATION = 5
R_USER = 6
R_ENTRY = 7  # a template opens its legs
R_EXIT = 8  # a template closes its legs (carry turned against it)
R_ROTATE = 9  # carry legs swapped to the other direction
R_REBALANCE = 10  # a leg re-sized to its target (drift, new hedge ratio)
R_SCALP = 11  # band-scalping clip
R_STOP = 12  # risk: catastrophic stop flattened everything
R_LEG_STOP = 13  # risk: per-leg stop-loss
R_MARGIN = 14  # risk: margin buffer reduced a leg
R_INV_RESET = 15  # risk: inventory reset (re-centre)
REASONS = {
    R_HEDGE: "hedge",
    R_OPEN: "open",
    R_ROLL_CLOSE: "roll_close",
    R_EXPIRY: "expiry",
    R_LIQUIDATION: "liquidation",
    R_USER: "user",
    R_ENTRY: "entry",
    R_EXIT: "exit",
    R_ROTATE: "rotate",
    R_REBALANCE: "rebalance",
    R_SCALP: "scalp",
    R_STOP: "stop",
    R_LEG_STOP: "leg_stop",
    R_MARGIN: "margin_buffer",
    R_INV_RESET: "inventory_reset",
}

# --- risk-overlay event log (Result.events) -------------------------------------------------
EV_STOP = 1  # catastrophic stop fired (value: equity, ref: threshold)
EV_RESTART = 2  # trading resumed after the stop's cool-down
EV_LEG_STOP = 3  # a leg was stopped out (value: its P&L, ref: threshold)
EV_MARGIN_REDUCE = 4  # margin buffer: leg reduced (value: distance to liquidation)
EV_MARGIN_TRANSFER = 5  # margin buffer: collateral moved in (value: amount, USD)
EV_VOL_PAUSE = 6  # vol breaker on (value: short vol, ref: k x long vol)
EV_VOL_CALM = 7  # vol breaker off
EV_TREND_ON = 8  # trend filter on (value: fast/slow - 1)
EV_TREND_OFF = 9
EV_STREAK_PAUSE = 10  # loss streak reached (value: streak length)
EV_STREAK_RESUME = 11
EV_INV_RESET = 12  # inventory reset (value: position before)
EV_CAP = 13  # an order was clipped by a position / notional cap (value: wanted, ref: sent)
EVENTS = {
    EV_STOP: "stop",
    EV_RESTART: "restart",
    EV_LEG_STOP: "leg_stop",
    EV_MARGIN_REDUCE: "margin_reduce",
    EV_MARGIN_TRANSFER: "margin_transfer",
    EV_VOL_PAUSE: "vol_pause",
    EV_VOL_CALM: "vol_calm",
    EV_TREND_ON: "trend_on",
    EV_TREND_OFF: "trend_off",
    EV_STREAK_PAUSE: "loss_streak_pause",
    EV_STREAK_RESUME: "loss_streak_resume",
    EV_INV_RESET: "inventory_reset",
    EV_CAP: "cap",
}

# blotter "instrument" column: >= 0 is a market instrument row; options use these codes
OPT_CALL = -1
OPT_PUT = -2

# --- option-roll log events ------------------------------------------------------------------
EV_OPEN = 1
EV_EXPIRE = 2
EV_CLOSE = 3
EV_LIQUIDATED = 4
ROLL_EVENTS = {EV_OPEN: "open", EV_EXPIRE: "expire", EV_CLOSE: "close", EV_LIQUIDATED: "liquidated"}

# --- per-configuration parameter columns -----------------------------------------------------
P_STRATEGY = 0
P_SIDE = 1  # +1 long options, -1 short
P_QTY = 2  # straddles, in coin of the underlying (1 = one call + one put on 1 coin)
P_EXPIRY_NS = 3  # option life at purchase, ns
P_ROLL_BEFORE_NS = 4  # roll this long before expiry (0 = hold to expiry)
P_CALL_MONEYNESS = 5  # call strike = spot * this (1 = ATM)
P_PUT_MONEYNESS = 6  # put strike = spot * this (1 = ATM)
P_STRIKE_STEP = 7  # strike rounding grid, USD (0 = exact)
P_OPT_SETTLE = 8  # 0 linear (USD) options, 1 coin-settled (inverse)
P_OPT_FEE = 9  # option fee rate on underlying notional, capped at 12.5 % of premium
P_MODEL = 10  # 0 Black-Scholes on the index, 1 Black-76 on the index as forward
P_RATE = 11  # r, annual decimal
P_CARRY = 12  # q, annual decimal
P_OPT_VENUE = 13  # venue row that holds the options
P_OPT_INST = 14  # instrument row whose index price is the option underlying
P_HEDGE_INST = 15  # instrument row used to hedge (-1: no hedging)
P_BAND = 16  # hedge when |net delta| > band (coin)
P_TARGET = 17  # TARGET_ZERO or TARGET_EDGE
P_ORDER_TYPE = 18  # ORDER_MARKET or ORDER_LIMIT
P_LIMIT_OFFSET = 19  # limit price offset from close, as a fraction (buy below, sell above)
P_SLIP_MODEL = 20
P_SLIP_BPS = 21
P_SLIP_K = 22  # vol-scaled slippage: fraction of one bar's sigma
P_IMPACT_K = 23  # square-root impact coefficient
P_TRIGGERS = 24  # bitmask of hedge triggers (TRIG_*); any enabled trigger that fires hedges
P_MOVE_ABS = 25  # price-move trigger: USD move of the hedge price since the last hedge
P_MOVE_PCT = 26  # price-move trigger: fractional move since the last hedge
P_INTERVAL_NS = 27  # time trigger: hedge every this many ns
P_RISK_AVERSION = 28  # Whalley-Wilmott band: risk aversion gamma (1/USD)
P_LELAND_C = 29  # Leland: sqrt(2/pi) x round-trip cost / sqrt(hedge interval in years); 0 = off
P_CALL_DELTA = 30  # > 0: call strike at this delta at entry
P_PUT_DELTA = 31  # > 0: put strike at this |delta| at entry
P_BUDGET = 32  # > 0: premium budget per entry, USD (sizes the straddle instead of P_QTY)
# perp templates (carry / pair / scalp): two legs, instrument rows
P_LEG_A = 33  # carry: long leg; pair: first leg; scalp: the perp
P_LEG_B = 34  # carry: short leg; pair: hedge leg
P_ENTRY = 35  # carry: entry spread (annualised); scalp: band half-width (fraction)
P_EXIT = 36  # carry: exit spread (annualised)
P_FLIP = 37  # carry: 1 rotate on adverse spread, 0 exit
P_BOTH = 38  # carry: 1 may open either direction, 0 only long A / short B
P_TOL = 39  # carry: rebalance tolerance (fraction of qty); pair: drift tolerance
P_WINDOW = 40  # pair: returns in the beta window; scalp: bars in the moving centre
P_STEP = 41  # pair: bars per return sample
P_MAX_INV = 42  # scalp: inventory limit, coin
P_NOTIONAL = 43  # pair: USD notional of the first leg
# risk overlays (0 = off)
P_STOP_LOSS = 44
P_STOP_COOL_NS = 45
P_LEG_STOP = 46
P_LEG_COOL_NS = 47
P_MARGIN_BUF = 48
P_MARGIN_ACT = 49  # 0 reduce, 1 transfer
P_MARGIN_FRAC = 50
P_VOL_SHORT = 51
P_VOL_LONG = 52
P_VOL_K = 53
P_VOL_ACT = 54  # 0 pause, 1 reduce
P_VOL_FACTOR = 55
P_TREND_FAST = 56
P_TREND_SLOW = 57
P_TREND_THR = 58
P_TREND_ACT = 59  # 0 pause, 1 bias
P_TREND_BIAS = 60
P_HEDGE_BIAS = 61
P_STREAK = 62
P_STREAK_PAUSE_NS = 63
P_INV_RESET = 64
P_MAX_POS = 65
P_MAX_NOTIONAL = 66
P_INTRABAR = 67  # 1: detect band crossings inside the bar from open/high/low (gap: at the open)
N_PARAMS = 68

# --- per-venue parameter columns -------------------------------------------------------------
V_TAKER = 0  # fee rate (0.0004 = 4 bps)
V_MAKER = 1  # fee rate, may be negative (rebate)
V_LEVERAGE = 2
V_CAPITAL = 3  # initial wallet balance, venue settlement currency
V_LIQ_FEE = 4  # liquidation fee rate on liquidated notional
V_ON_LIQ = 5  # 0 stop the run (flagged failed), 1 continue with what is left
V_ISOLATED = 6  # 0 cross, 1 isolated (margin per position)
N_VENUE_PARAMS = 7

# --- per-configuration totals (summary row) --------------------------------------------------
T_PERP_PNL = 0
T_OPT_PNL = 1
T_FUNDING = 2  # net funding received (negative: paid)
T_FEES = 3
T_SLIPPAGE = 4
T_FX = 5
T_N_TRADES = 6  # perp/spot fills
T_N_LIQ = 7
T_FAILED_BAR = 8  # -1 if the run did not fail
T_MAX_RESID = 9  # max |residual| over steps (USD)
T_EQUITY0 = 10
T_EQUITY_END = 11
T_N_ROLLS = 12
T_OPT_FEES = 13
T_BLOTTER_N = 14
T_FUNDING_N = 15
T_ROLL_N = 16
T_LIQ_N = 17
T_BARS_RUN = 18
T_MAX_MARGIN_RATIO = 19
T_N_REJECTED = 20  # orders rejected for insufficient initial margin
T_EVENT_N = 21  # risk-overlay events written (may exceed the log's capacity)
N_TOTALS = 22

# --- per-step record columns (full recording) ------------------------------------------------
S_EQUITY = 0
S_PERP_PNL = 1
S_OPT_PNL = 2
S_FUNDING = 3
S_FEES = 4
S_SLIPPAGE = 5
S_FX = 6
S_RESIDUAL = 7
S_NET_DELTA = 8
S_HEDGE_POS = 9
S_OPT_VALUE = 10
S_MARGIN_RATIO = 11
S_OPT_DELTA = 12
S_IV = 13
N_STEP = 14
STEP_COLUMNS = (
    "equity",
    "perp_pnl",
    "option_pnl",
    "funding",
    "fees",
    "slippage",
    "fx",
    "residual",
    "net_delta",
    "hedge_position",
    "option_value",
    "margin_ratio",
    "option_delta",
    "iv",
)
