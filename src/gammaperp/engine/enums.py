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
REASONS = {
    R_HEDGE: "hedge",
    R_OPEN: "open",
    R_ROLL_CLOSE: "roll_close",
    R_EXPIRY: "expiry",
    R_LIQUIDATION: "liquidation",
    R_USER: "user",
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
N_PARAMS = 30

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
N_TOTALS = 21

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
