"""The numba simulation kernel and the accounting primitives it is built from.

Everything here is ``@njit(cache=True)`` over flat float64/int64 arrays: no Python object per
bar. The primitives (``fill_nb``, ``fund_nb``, ``venue_equity_nb``, ``venue_maint_nb``...) are
the single implementation of accounting; the kernel calls them per bar and
:class:`gammaperp.engine.account.Account` calls the very same functions step by step from
Python (paper trading reuses them instead of re-implementing accounting).

State of one configuration
--------------------------
``cash[v]``            wallet balance of venue ``v`` in its settlement currency (USD, or coin
                       for a coin-margined venue).
``pos[i], entry[i]``   position of instrument ``i`` (contracts; coin for linear perps and spot
                       with contract size 1) and its average entry price (harmonic average for
                       inverse perps, as the exchanges compute it).
option slots           ``slot[k, SL_*]``: a strike/expiry pair holding ``call_qty`` calls and
                       ``put_qty`` puts (signed, coin units) on one venue.
orders                 ``orders[k, O_*]``: in-flight (latency) and resting (limit) orders.

Valuation conventions (documented in docs/engine.md):
* perps and spot are valued at the bar **close**; funding and margin use the **mark** price;
* options are valued on the underlying's **index** price with the bar's implied vol;
* a linear perp's unrealised P&L is ``pos * cs * (close - entry)``; an inverse perp's is
  ``pos * cs * (1/entry - 1/close)`` coin; spot is fully paid (``cash -= qty * price``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, objmode

from gammaperp.engine import enums as E
from gammaperp.engine._risk_nb import (
    N_RSTATE,
    N_W,
    W_TREND,
    W_VOL,
    cap_qty_nb,
    log_event_nb,
    overlay_windows_nb,
    window_values_nb,
)
from gammaperp.engine._templates_nb import (
    N_TSTATE,
    carry_direction_nb,
    coin_delta_nb,
    contracts_nb,
    inflight_nb,
    pair_sample_nb,
)
from gammaperp.engine.margin import (
    liquidation_price_inverse_nb,
    liquidation_price_linear_nb,
    maint_margin_nb,
    short_option_margin_nb,
)
from gammaperp.pricing._nb import norm_cdf_nb, norm_pdf_nb

NS_PER_YEAR = 365.0 * 86_400.0 * 1e9
YEARS_PER_NS = 1.0 / NS_PER_YEAR

# option slot columns
SL_ACTIVE = 0
SL_VENUE = 1
SL_INST = 2  # instrument row whose index price is the underlying
SL_STRIKE = 3
SL_EXPIRY_NS = 4
SL_CALL_QTY = 5
SL_PUT_QTY = 6
SL_SETTLE = 7  # 0 linear USD, 1 coin-settled
SL_MODEL = 8
SL_RATE = 9
SL_CARRY = 10
SL_VALUE = 11  # last value, venue currency
SL_DELTA = 12  # last delta, coin
SL_OPEN_BAR = 13
SL_LOGK = 14
SL_LELAND = 15  # signed Leland coefficient for the hedge delta (0: market vol)
N_SLOT = 16
MAX_SLOTS = 2
DELTA_BLOCK = 256  # bars of option delta computed ahead on the fast path

# order columns
O_ACTIVE = 0
O_INST = 1
O_QTY = 2
O_TYPE = 3
O_LIMIT = 4
O_DUE_BAR = 5
O_REASON = 6
O_DECIDED_BAR = 7
N_ORDER = 8
MAX_ORDERS = 64


# ----------------------------------------------------------------------------------------------
# option valuation
# ----------------------------------------------------------------------------------------------
@njit(cache=True, inline="always", error_model="numpy")
def _opt_core_nb(model, s, k, log_sk, tau, vol, r, q, call_qty, put_qty, want_value):
    """Value (USD) and delta (coin) of ``call_qty`` calls + ``put_qty`` puts on one strike,
    given ``log_sk = ln(s/k)``. With ``want_value`` False only the delta is computed (value 0):
    the kernel needs the delta every bar but the value only where it is recorded or used."""
    if model == 1:
        q = r
    if tau <= 0.0:
        if s > k:
            return call_qty * (s - k), call_qty * 1.0
        if s < k:
            return put_qty * (k - s), -put_qty * 1.0
        return 0.0, 0.5 * call_qty - 0.5 * put_qty
    sq = vol * math.sqrt(tau)
    d1 = (log_sk + (r - q + 0.5 * vol * vol) * tau) / sq
    n1 = norm_cdf_nb(d1)
    dq = math.exp(-q * tau) if q != 0.0 else 1.0
    delta = call_qty * dq * n1 + put_qty * dq * (n1 - 1.0)
    if not want_value:
        return 0.0, delta
    n2 = norm_cdf_nb(d1 - sq)
    dr = math.exp(-r * tau) if r != 0.0 else 1.0
    call = s * dq * n1 - k * dr * n2
    put = call - s * dq + k * dr
    return call_qty * call + put_qty * put, delta


@njit(cache=True, error_model="numpy")
def slot_value_delta_nb(model, s, k, tau, vol, r, q, call_qty, put_qty):
    """USD value and delta (coin) of ``call_qty`` calls plus ``put_qty`` puts on one strike.

    Black-Scholes on spot ``s`` with rate ``r`` and carry ``q``; Black-76 (model 1) treats ``s``
    as the forward (same as BS with q = r). At or after expiry (``tau <= 0``): intrinsic value;
    delta 1 / 0 for an in / out-of-the-money call and 0.5 exactly at the strike (put = call - 1).
    """
    return _opt_core_nb(model, s, k, math.log(s / k), tau, vol, r, q, call_qty, put_qty, True)


@njit(cache=True, inline="always", error_model="numpy")
def smile_vol_nb(atm, skew, curvature, log_ks):
    """Implied vol at log-moneyness ``ln(K/S)``: atm + skew*m + curvature*m^2 (floor 1e-4)."""
    if skew == 0.0 and curvature == 0.0:
        return atm
    v = atm + skew * log_ks + curvature * log_ks * log_ks
    return v if v > 1e-4 else 1e-4


@njit(cache=True, error_model="numpy")
def norm_ppf_nb(u):
    """Inverse standard normal CDF: Acklam's rational approximation polished by two Newton
    steps on :func:`norm_cdf_nb` (relative error ~1e-15 for u in (1e-300, 1 - 1e-16))."""
    if not 0.0 < u < 1.0:
        return math.nan
    if u > 0.5:
        return -norm_ppf_nb(1.0 - u)  # 1 - u is exact here (Sterbenz): keeps the upper tail
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
    cc = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
          -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)  # fmt: skip
    if u < 0.02425:
        r = math.sqrt(-2.0 * math.log(u))
        x = (((((cc[0] * r + cc[1]) * r + cc[2]) * r + cc[3]) * r + cc[4]) * r + cc[5]) / (
            (((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1.0
        )
    else:
        r = u - 0.5
        w = r * r
        x = (
            (((((a[0] * w + a[1]) * w + a[2]) * w + a[3]) * w + a[4]) * w + a[5])
            * r
            / (((((b[0] * w + b[1]) * w + b[2]) * w + b[3]) * w + b[4]) * w + 1.0)
        )
    for _ in range(2):
        pdf = norm_pdf_nb(x)
        if pdf > 0.0:
            x -= (norm_cdf_nb(x) - u) / pdf
    return x


@njit(cache=True, error_model="numpy")
def strike_for_delta_nb(model, s, tau, atm, skew, curv, r, q, delta, is_call):
    """Strike whose call delta is ``delta`` (``is_call``) or whose put delta is ``-delta``,
    at the smile vol of that strike (fixed-point iteration on the smile; exact without one).
    Black-Scholes on spot, or Black-76 on ``s`` as the forward (carry = rate)."""
    if model == 1:
        q = r
    dq = math.exp(-q * tau) if q != 0.0 else 1.0
    target = delta / dq if is_call else 1.0 - delta / dq
    x = norm_ppf_nb(target)
    if x != x:
        return math.nan
    k = s
    for _ in range(100):
        v = smile_vol_nb(atm, skew, curv, math.log(k / s))
        k_new = s * math.exp((r - q + 0.5 * v * v) * tau - x * v * math.sqrt(tau))
        if abs(k_new - k) <= 1e-13 * k:
            return k_new
        k = k_new
    return k


@njit(cache=True, inline="always", error_model="numpy")
def leland_vol_nb(vol, lel):
    """Leland (1985) cost-adjusted vol: sqrt(sigma^2 - lel * sigma), with ``lel`` the signed
    coefficient sqrt(2/pi) k / sqrt(dt) (+ for long options: hedge with a lower vol; - for
    short). Floored at 1e-4."""
    v2 = vol * vol - lel * vol
    return math.sqrt(v2) if v2 > 1e-8 else 1e-4


@njit(cache=True, inline="always", error_model="numpy")
def slot_eval_nb(slots, k, t_ns, s, log_s, vol, skew, curv, want_value):
    """(value in venue currency, delta in coin) of option slot ``k`` at time ``t_ns``.

    Takes the slot table and a row number rather than a row view: a view is a refcounted
    array object, and creating one per bar cost more than the option maths."""
    log_sk = log_s - slots[k, SL_LOGK]
    tau = (slots[k, SL_EXPIRY_NS] - t_ns) * YEARS_PER_NS
    v = smile_vol_nb(vol, skew, curv, -log_sk)
    lel = slots[k, SL_LELAND]
    if lel != 0.0 and tau > 0.0:
        # Leland: the hedge delta uses the cost-adjusted vol; the value keeps the market's
        val, _ = _opt_core_nb(
            int(slots[k, SL_MODEL]), s, slots[k, SL_STRIKE], log_sk, tau, v, slots[k, SL_RATE],
            slots[k, SL_CARRY], slots[k, SL_CALL_QTY], slots[k, SL_PUT_QTY], want_value,
        )  # fmt: skip
        _, dlt = _opt_core_nb(
            int(slots[k, SL_MODEL]), s, slots[k, SL_STRIKE], log_sk, tau, leland_vol_nb(v, lel),
            slots[k, SL_RATE], slots[k, SL_CARRY], slots[k, SL_CALL_QTY], slots[k, SL_PUT_QTY],
            False,
        )  # fmt: skip
        if slots[k, SL_SETTLE] == 1.0:
            val = val / s
        return val, dlt
    val, dlt = _opt_core_nb(
        int(slots[k, SL_MODEL]),
        s,
        slots[k, SL_STRIKE],
        log_sk,
        tau,
        v,
        slots[k, SL_RATE],
        slots[k, SL_CARRY],
        slots[k, SL_CALL_QTY],
        slots[k, SL_PUT_QTY],
        want_value,
    )
    if slots[k, SL_SETTLE] == 1.0:
        val = val / s
    return val, dlt


@njit(cache=True, inline="always", error_model="numpy")
def revalue_slots_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, want_value):
    """Refresh the delta of every active slot and, with ``want_value``, its value, adding the
    value change to ``d_opt[venue]`` (option P&L). Skipping the value between valuation points
    is exact in aggregate: the next valuation books the whole change. Returns the summed delta
    (coin) of all active slots."""
    total = 0.0
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] == 0.0:
            continue
        si = int(slots[k, SL_INST])
        u = inst_und[si]
        val, dlt = slot_eval_nb(
            slots,
            k,
            t_ns,
            index[si, t],
            log_index[si, t],
            iv[u, t],
            smile[u, 0],
            smile[u, 1],
            want_value,
        )
        slots[k, SL_DELTA] = dlt
        total += dlt
        if want_value:
            d_opt[int(slots[k, SL_VENUE])] += val - slots[k, SL_VALUE]
            slots[k, SL_VALUE] = val
    return total


@njit(cache=True, error_model="numpy")
def revalue_slots_call_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, want_value):
    """:func:`revalue_slots_nb` as a call, not inlined: for the places that revalue rarely
    (expiries, rolls, margin stress, record points, overlays), so that the kernel's compiled
    code - and its compile time - does not grow with one inlined copy per place."""
    return revalue_slots_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt,
                            want_value)  # fmt: skip


@njit(cache=True, error_model="numpy")
def delta_block_nb(dbuf, gbuf, want_gamma, slots, t0, ts, index, log_index, iv, smile, inst_und):
    """Summed delta of the active slots for bars ``t0 .. t0 + len - 1`` in ``dbuf[:len]``;
    returns ``len`` (at most ``DELTA_BLOCK``; ``dbuf[DELTA_BLOCK:]`` is scratch space). With
    ``want_gamma`` also their summed gamma per coin (market vol, as :func:`_ww_band3_nb`
    computes it, bit for bit) into ``gbuf``: the Whalley-Wilmott band.

    The same arithmetic as :func:`slot_eval_nb` (bit-identical deltas), but the bars are
    independent: a first loop computes every bar's ``d1`` (square roots and divisions, which
    the compiler vectorises), a second one the ``erfc`` calls, which the CPU overlaps."""
    n = min(DELTA_BLOCK, ts.shape[0] - t0)
    for j in range(n):
        dbuf[j] = 0.0
        gbuf[j] = 0.0
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] == 0.0:
            continue
        # slot fields as locals: dbuf and slots could alias as far as LLVM knows
        si = int(slots[k, SL_INST])
        u = inst_und[si]
        skew = smile[u, 0]
        curv = smile[u, 1]
        model = int(slots[k, SL_MODEL])
        strike = slots[k, SL_STRIKE]
        logk = slots[k, SL_LOGK]
        expiry = slots[k, SL_EXPIRY_NS]
        rate = slots[k, SL_RATE]
        carry = slots[k, SL_CARRY] if model != 1 else rate  # _opt_core_nb's q
        cq = slots[k, SL_CALL_QTY]
        pq = slots[k, SL_PUT_QTY]
        lel = slots[k, SL_LELAND]
        drift = rate - carry
        # d1 as in _opt_core_nb (meaningless where tau <= 0: those bars take intrinsic deltas)
        for j in range(n):
            t = t0 + j
            log_sk = log_index[si, t] - logk
            tau = (expiry - ts[t]) * YEARS_PER_NS
            v = smile_vol_nb(iv[u, t], skew, curv, -log_sk)
            if lel != 0.0:
                v = leland_vol_nb(v, lel)
            sq = v * math.sqrt(tau)
            dbuf[DELTA_BLOCK + j] = (log_sk + (drift + 0.5 * v * v) * tau) / sq
        for j in range(n):
            t = t0 + j
            tau = (expiry - ts[t]) * YEARS_PER_NS
            if tau <= 0.0:
                # at or after expiry: _opt_core_nb's intrinsic delta
                _, dlt = _opt_core_nb(model, index[si, t], strike, 0.0, tau, 0.0, rate, carry,
                                      cq, pq, False)  # fmt: skip
            else:
                n1 = norm_cdf_nb(dbuf[DELTA_BLOCK + j])
                dq = math.exp(-carry * tau) if carry != 0.0 else 1.0
                dlt = cq * dq * n1 + pq * dq * (n1 - 1.0)
            dbuf[j] += dlt
        if want_gamma:
            # gamma at the market vol (no Leland adjustment), as _ww_band3_nb computes it
            for j in range(n):
                t = t0 + j
                tau = (expiry - ts[t]) * YEARS_PER_NS
                if tau <= 0.0:
                    continue
                log_sk = log_index[si, t] - logk
                v = smile_vol_nb(iv[u, t], skew, curv, -log_sk)
                sq = v * math.sqrt(tau)
                d1 = (log_sk + (rate - carry + 0.5 * v * v) * tau) / sq
                pdf = 0.3989422804014327 * math.exp(-0.5 * d1 * d1)
                dq = math.exp(-carry * tau) if carry != 0.0 else 1.0
                gbuf[j] += (cq + pq) * dq * pdf / (index[si, t] * sq)
    return n


@njit(cache=True, inline="always", error_model="numpy")
def _ww_band3_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und, cost, risk_aversion):
    """Cube of the Whalley-Wilmott (1997) asymptotically optimal hedge band half-width (coin):
    ``H^3 = 3/2 * exp(-r tau) * cost * S * Gamma^2 / risk_aversion`` with ``Gamma``
    the option book's gamma (per coin of underlying, summed over open slots), ``cost`` the
    proportional trading cost of the hedge (its taker fee rate) and ``risk_aversion`` in 1/USD.
    No option gamma (or a zero cost): a zero band (hedge every change)."""
    g = 0.0
    s_ref = 0.0
    disc = 1.0
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] == 0.0:
            continue
        si = int(slots[k, SL_INST])
        u = inst_und[si]
        s = index[si, t]
        tau = (slots[k, SL_EXPIRY_NS] - t_ns) * YEARS_PER_NS
        if tau <= 0.0:
            continue
        log_sk = log_index[si, t] - slots[k, SL_LOGK]
        vol = smile_vol_nb(iv[u, t], smile[u, 0], smile[u, 1], -log_sk)
        r = slots[k, SL_RATE]
        q = r if slots[k, SL_MODEL] == 1.0 else slots[k, SL_CARRY]
        sq = vol * math.sqrt(tau)
        d1 = (log_sk + (r - q + 0.5 * vol * vol) * tau) / sq
        pdf = 0.3989422804014327 * math.exp(-0.5 * d1 * d1)
        dq = math.exp(-q * tau) if q != 0.0 else 1.0
        g += (slots[k, SL_CALL_QTY] + slots[k, SL_PUT_QTY]) * dq * pdf / (s * sq)
        s_ref = s
        disc = math.exp(-r * tau) if r != 0.0 else 1.0
    if g == 0.0 or cost <= 0.0 or risk_aversion <= 0.0:
        return 0.0
    # the cube: the trigger compares |net|^3 with it, the root is taken only for a hedge
    return 1.5 * disc * cost * s_ref * g * g / risk_aversion


@njit(cache=True, inline="always", error_model="numpy")
def slots_delta_nb(slots):
    total = 0.0
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] != 0.0:
            total += slots[k, SL_DELTA]
    return total


@njit(cache=True, inline="always", error_model="numpy")
def next_expiry_nb(slots):
    """Earliest expiry (ns) of the active slots; +inf when none is open."""
    e = np.inf
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] != 0.0 and slots[k, SL_EXPIRY_NS] < e:
            e = slots[k, SL_EXPIRY_NS]
    return e


# ----------------------------------------------------------------------------------------------
# perp / spot accounting primitives
# ----------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def round_to_nb(x, step):
    """Round ``x`` to a multiple of ``step`` (no rounding when step <= 0)."""
    if step <= 0.0:
        return x
    return round(x / step) * step


@njit(cache=True, error_model="numpy")
def fill_nb(cash, pos, entry, i, v, kind, cs, qty, price, fee_rate):
    """Apply a fill of ``qty`` contracts of instrument ``i`` at ``price`` to the state.

    Updates ``cash[v]``, ``pos[i]`` and ``entry[i]`` in place; returns ``(fee, realized)`` in
    the venue's settlement currency. Realised P&L of a reduced position moves into cash; the
    fee is charged on the executed notional (linear: qty*cs*price USD; inverse:
    qty*cs/price coin; spot: qty*price USD, and spot is paid in full).
    """
    if kind == E.PERP_INVERSE:
        fee = abs(qty) * cs / price * fee_rate
    else:
        fee = abs(qty) * cs * price * fee_rate
    cash[v] -= fee
    p0 = pos[i]
    realized = 0.0
    if kind == E.SPOT:
        cash[v] -= qty * cs * price
        new = p0 + qty
        if p0 == 0.0 or (p0 > 0.0) == (qty > 0.0):
            entry[i] = (p0 * entry[i] + qty * price) / new if new != 0.0 else 0.0
        else:
            n_close = min(abs(qty), abs(p0))
            realized = n_close * cs * (price - entry[i]) * (1.0 if p0 > 0.0 else -1.0)
            if abs(qty) > abs(p0):
                entry[i] = price
        pos[i] = new
        if new == 0.0:
            entry[i] = 0.0
        return fee, realized
    if p0 == 0.0 or (p0 > 0.0) == (qty > 0.0):
        new = p0 + qty
        if kind == E.PERP_INVERSE:
            entry[i] = new / (p0 / entry[i] + qty / price) if p0 != 0.0 else price
        else:
            entry[i] = (p0 * entry[i] + qty * price) / new
        pos[i] = new
        return fee, 0.0
    n_close = min(abs(qty), abs(p0))
    sgn = 1.0 if p0 > 0.0 else -1.0
    if kind == E.PERP_INVERSE:
        realized = n_close * cs * (1.0 / entry[i] - 1.0 / price) * sgn
    else:
        realized = n_close * cs * (price - entry[i]) * sgn
    cash[v] += realized
    new = p0 + qty
    if abs(qty) > abs(p0):
        entry[i] = price
    elif abs(new) < 1e-15 * max(abs(p0), 1.0):
        new = 0.0
        entry[i] = 0.0
    pos[i] = new
    return fee, realized


@njit(cache=True, inline="always", error_model="numpy")
def unrealized_nb(kind, cs, pos, entry, price):
    """Value of an open position at ``price`` beyond the wallet (spot: its full value)."""
    if pos == 0.0:
        return 0.0
    if kind == E.PERP_INVERSE:
        return pos * cs * (1.0 / entry - 1.0 / price)
    if kind == E.SPOT:
        return pos * cs * price
    return pos * cs * (price - entry)


@njit(cache=True, inline="always", error_model="numpy")
def price_move_pnl_nb(kind, cs, pos, p0, p1):
    """P&L of holding ``pos`` while the price moves ``p0 -> p1`` (venue currency)."""
    if kind == E.PERP_INVERSE:
        return pos * cs * (1.0 / p0 - 1.0 / p1)
    return pos * cs * (p1 - p0)


@njit(cache=True, error_model="numpy")
def fund_nb(cash, pos, i, v, kind, cs, mark, rate):
    """Settle one funding event on the position held now, at ``mark``.

    A positive rate means longs pay shorts. Linear perps pay ``pos*cs*mark*rate`` USD; inverse
    perps pay ``pos*cs/mark*rate`` coin. Returns the signed payment received (venue currency).
    """
    if kind == E.PERP_INVERSE:
        received = -pos[i] * cs / mark * rate
    else:
        received = -pos[i] * cs * mark * rate
    cash[v] += received
    return received


@njit(cache=True, error_model="numpy")
def slippage_nb(model, qty, cs, price, spread, sigma, volume, bps, k_vol, k_impact):
    """Adverse price move per contract for a market order (always >= 0, in price units).

    * fixed_bps: ``price * bps / 1e4``
    * half_spread: half the quoted spread (falls back to fixed bps where no spread is known)
    * vol_scaled: ``k_vol * sigma_bar * price`` (sigma_bar: trailing std of 1-bar log returns)
    * sqrt_impact: ``k_impact * sigma_bar * price * sqrt(|qty*cs| / bar volume)``
    """
    if model == E.SLIP_NONE:
        return 0.0
    if model == E.SLIP_FIXED_BPS:
        return price * bps * 1e-4
    if model == E.SLIP_HALF_SPREAD:
        if spread == spread:  # not NaN
            return 0.5 * spread
        return price * bps * 1e-4
    if model == E.SLIP_VOL_SCALED:
        return k_vol * sigma * price
    # square-root impact; with no volume known, assume the order is the whole bar
    if volume > 0.0:
        part = abs(qty) * cs / volume
    else:
        part = 1.0
    return k_impact * sigma * price * math.sqrt(part)


# ----------------------------------------------------------------------------------------------
# margin primitives
# ----------------------------------------------------------------------------------------------
# Margin boxes (the kernel's step 5, fast path). While a cross-margined venue holds a single
# linear perp and nothing about it changes (wallet, position, entry, option value), the per-bar
# margin check depends on the bar's prices only, linearly within a tier bracket. Its exact
# evaluation at one bar yields a price interval - the box - inside which a bar provably changes
# nothing (no liquidation, margin ratio below the running maximum); bars are checked against it
# and only the others are evaluated. Row ``mbox[v]`` holds the box of venue ``v``:
MB_LO = 0  # the box: both the mark and the adverse extreme of a bar in [lo, hi] ...
MB_HI = 1
MB_MR = 2  # ... given a running maximum margin ratio >= this one
MB_OLO = 3  # outer box: no liquidation and the same bracket (the ratio is not bounded)
MB_OHI = 4
MB_ELO = 5  # outer box where the equity with options also stays positive
MB_EHI = 6
MB_CASH = 7  # the state: wallet, perp position and entry, long options' (last) value
MB_POS = 8
MB_ENTRY = 9
MB_STALE = 10
MB_MARK = 11  # mark and adverse price of the bar last evaluated (inside the box by definition)
MB_ADV = 12
MB_RATE = 13  # the bracket's maintenance rate and amount
MB_CUM = 14
MB_MAG = 15  # magnitude of the terms of the check (scales the slack)
MB_BASE = 16  # equity with options = base + pcs*mark, pcs = pos*cs
MB_PCS = 17
MB_K1 = 18  # maint = k1*mark - cum, k1 = |pos|*cs*rate
N_MB = 19
MB_SLACK = 1e-12  # relative safety margin, hundreds of times the rounding error it covers
MB_SCAN = 32  # bars of prices checked against a margin box at a time


@njit(cache=True, error_model="numpy")
def margin_box_nb(mbox, v, wallet, pos, cs, entry, stale, mr, mark, adverse, cap, mmr, amt):
    """Compute ``mbox[v]`` for a cross-margined venue holding only the linear perp position
    ``pos`` (entry ``entry``, contract size ``cs``) with ``wallet`` and long options worth
    ``stale``, from its exact margin check at a bar with prices ``mark`` and ``adverse`` that
    left the running maximum margin ratio at ``mr``. For every bar whose mark ``m`` and adverse
    extreme ``a`` both lie in the box:

    * the intrabar equity ``wallet + pos*cs*(a - entry)`` stays at least the maintenance
      margin ``|pos|*cs*m*rate - cum`` of the bracket (no liquidation; the outer box), and
    * the margin ratio ``maint / (wallet + pos*cs*(m - entry) + stale)`` does not exceed
      ``mr`` and its denominator stays positive (the running maximum is unchanged).

    Every inequality holds with a slack of ``MB_SLACK`` times the magnitude of its terms,
    orders of magnitude above the rounding error of the kernel's evaluation of the same
    quantities, so a bar inside the box would leave the kernel's state bit for bit unchanged.
    The boxes stay within ``[mark/2, 2*mark]`` (this bounds the magnitudes) and within the
    bracket of ``mark``. The tier table is row ``v`` of ``cap``, ``mmr``, ``amt`` (no row
    views: a view is a refcounted object). An empty box has ``lo > hi``.
    """
    for j in range(N_MB):
        mbox[v, j] = 0.0
    mbox[v, MB_CASH] = wallet
    mbox[v, MB_POS] = pos
    mbox[v, MB_ENTRY] = entry
    mbox[v, MB_STALE] = stale
    mbox[v, MB_MARK] = mark
    mbox[v, MB_ADV] = adverse
    mbox[v, MB_LO] = np.inf
    mbox[v, MB_HI] = -np.inf
    mbox[v, MB_OLO] = np.inf
    mbox[v, MB_OHI] = -np.inf
    mbox[v, MB_ELO] = np.inf
    mbox[v, MB_EHI] = -np.inf
    a_sz = abs(pos) * cs  # the kernel's notional is abs(pos) * cs * mark
    pcs = pos * cs
    base = wallet - pcs * entry + stale
    if not (mark > 0.0 and mark < np.inf and a_sz > 0.0 and a_sz < np.inf and abs(base) < np.inf):
        return
    # the bracket of the mark (bracket_index_nb on row v)
    n_b = cap.shape[1]
    b = n_b - 1
    for j in range(n_b - 1):
        if a_sz * mark <= cap[v, j]:
            b = j
            break
    rate = mmr[v, b]
    cum = amt[v, b]
    mag = abs(wallet) + abs(stale) + abs(pcs * entry) + a_sz * 4.0 * mark * (1.0 + rate)
    mag += abs(cum)
    d = MB_SLACK * mag
    lo = 0.5 * mark
    hi = 2.0 * mark
    # the same bracket: cap[b-1] < notional (<= cap[b] unless b is the last bracket)
    if b > 0:
        lo = max(lo, cap[v, b - 1] / a_sz * (1.0 + MB_SLACK))
    if b < n_b - 1:
        hi = min(hi, cap[v, b] / a_sz * (1.0 - MB_SLACK))
    # no liquidation: wallet + pcs*(a - entry) >= maint(m) + d for all m <= hi
    need = a_sz * rate * hi - cum + d - wallet
    if pos > 0.0:
        lo = max(lo, entry + need / pcs)
    else:
        hi = min(hi, entry + need / pcs)
    if not (lo <= hi):
        return
    mbox[v, MB_OLO] = lo
    mbox[v, MB_OHI] = hi
    # equity with options positive: base + pcs*m >= d
    if pos > 0.0:
        lo = max(lo, (d - base) / pcs)
    else:
        hi = min(hi, (d - base) / pcs)
    if not (lo <= hi):
        return
    mbox[v, MB_ELO] = lo
    mbox[v, MB_EHI] = hi
    mbox[v, MB_RATE] = rate
    mbox[v, MB_CUM] = cum
    mbox[v, MB_MAG] = mag
    mbox[v, MB_BASE] = base
    mbox[v, MB_PCS] = pcs
    mbox[v, MB_K1] = a_sz * rate
    margin_box_ratio_nb(mbox, v, mr)


@njit(cache=True, error_model="numpy")
def margin_box_ratio_nb(mbox, v, mr):
    """Set the box of ``mbox[v]`` for the running maximum margin ratio ``mr``: its outer box
    with positive equity where also ``k1*m - cum <= mr * (base + pcs*m) - slack``."""
    mbox[v, MB_MR] = mr
    lo = mbox[v, MB_ELO]
    hi = mbox[v, MB_EHI]
    if mr > 0.0 and mr < np.inf and lo <= hi:
        d = MB_SLACK * mbox[v, MB_MAG] * (1.0 + mr)
        slope = mbox[v, MB_K1] - mr * mbox[v, MB_PCS]
        rhs = mr * mbox[v, MB_BASE] + mbox[v, MB_CUM] - d
        if slope > 0.0:
            hi = min(hi, rhs / slope)
        elif slope < 0.0:
            lo = max(lo, rhs / slope)
        elif rhs < 0.0:
            hi = -np.inf
    else:
        hi = -np.inf
    if not (lo <= hi):
        lo = np.inf
        hi = -np.inf
    mbox[v, MB_LO] = lo
    mbox[v, MB_HI] = hi


@njit(cache=True, error_model="numpy")
def margin_box_scan_nb(lo, hi, m0, a0, mark, low, high, long, i, t0, t1):
    """First bar in ``t0 .. t1 - 1`` whose mark or adverse price (``low`` if ``long``, else
    ``high``) of instrument ``i`` leaves the margin box ``[lo, hi]`` without repeating the
    prices ``m0``, ``a0`` of the bar last evaluated; ``t1`` if none does."""
    for u in range(t0, t1):
        m = mark[i, u]
        a = low[i, u] if long else high[i, u]
        if not ((lo <= m and m <= hi and lo <= a and a <= hi) or (m == m0 and a == a0)):
            return u
    return t1


# ----------------------------------------------------------------------------------------------
# the kernel
# ----------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _add_order(orders, inst, qty, otype, limit, due, reason, decided):
    """Put an order in the first free slot (returns it, or -1 when the book is full). The
    book's extra last row keeps the high-water mark of used slots in its ``O_LIMIT`` column:
    loops over live orders stop there."""
    for k in range(MAX_ORDERS):
        if orders[k, O_ACTIVE] == 0.0:
            if k + 1 > orders[MAX_ORDERS, O_LIMIT]:
                orders[MAX_ORDERS, O_LIMIT] = k + 1
            orders[k, O_ACTIVE] = 1.0
            orders[k, O_INST] = inst
            orders[k, O_QTY] = qty
            orders[k, O_TYPE] = otype
            orders[k, O_LIMIT] = limit
            orders[k, O_DUE_BAR] = due
            orders[k, O_REASON] = reason
            orders[k, O_DECIDED_BAR] = decided
            return k
    return -1


@njit(cache=True, error_model="numpy")
def _log_fill(
    bl_i, bl_f, n, c, t, inst, qty, price, ref, fee, slip, reason, otype, decided, strike, expiry
):
    if n < bl_i.shape[1]:
        bl_i[c, n, 0] = t
        bl_i[c, n, 1] = inst
        bl_i[c, n, 2] = reason
        bl_i[c, n, 3] = otype
        bl_i[c, n, 4] = decided
        bl_f[c, n, 0] = qty
        bl_f[c, n, 1] = price
        bl_f[c, n, 2] = ref
        bl_f[c, n, 3] = fee
        bl_f[c, n, 4] = slip
        bl_f[c, n, 5] = strike
        bl_f[c, n, 6] = expiry
    return n + 1


@njit(cache=True, error_model="numpy")
def initial_margin_ok_nb(
    cash, pos, entry, slots, v, i, q, inst_kind, inst_venue, inst_cs, close, t, leverage
):
    """Whether venue ``v`` can afford the initial margin after trading ``q`` of instrument
    ``i``: equity (at close, options at their last value) >= sum |notional| / leverage of its
    perp positions after the trade. Trades that reduce exposure are always allowed."""
    if abs(pos[i] + q) <= abs(pos[i]) or inst_kind[i] == E.SPOT:
        return True
    eq = cash[v]
    im = 0.0
    for j in range(pos.shape[0]):
        if inst_venue[j] != v:
            continue
        p_j = pos[j] + q if j == i else pos[j]
        if pos[j] != 0.0:
            eq += unrealized_nb(inst_kind[j], inst_cs[j], pos[j], entry[j], close[j, t])
        if p_j != 0.0 and inst_kind[j] != E.SPOT:
            if inst_kind[j] == E.PERP_INVERSE:
                im += abs(p_j) * inst_cs[j] / close[j, t] / leverage
            else:
                im += abs(p_j) * inst_cs[j] * close[j, t] / leverage
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
            eq += slots[k, SL_VALUE]
    return eq >= im


@njit(cache=True, inline="always", error_model="numpy")
def isolated_margin_nb(kind, cs, pos, entry, leverage):
    """Isolated margin of a position: its entry notional / leverage (coin for inverse)."""
    if kind == E.PERP_INVERSE:
        return abs(pos) * cs / entry / leverage
    return abs(pos) * cs * entry / leverage


@njit(cache=True, error_model="numpy")
def _liquidate_nb(
    c, t, i, v, cash, pos, entry, inst_kind, inst_cs, wallet, other_upnl, maint, t_floor, t_cap,
    t_mmr, t_amt, mark, open_, low, high, close, liq_fee_rate, eq_before, d_fee, d_perp,
    bl_i, bl_f, n_bl, lq_i, lq_f, n_lq,
):  # fmt: skip
    """Close position ``i`` at its liquidation price with the liquidation fee; logs the fill
    and the event. Returns the updated blotter and liquidation-log counts."""
    kind = inst_kind[i]
    cs = inst_cs[i]
    px = _liq_price(kind, cs, pos[i], entry[i], wallet, other_upnl, maint, t_floor, t_cap,
                    t_mmr, t_amt, mark, open_, low, high)  # fmt: skip
    q = -pos[i]
    fee_liq = abs(q) * cs * (px if kind != E.PERP_INVERSE else 1.0 / px) * liq_fee_rate
    fill_nb(cash, pos, entry, i, v, kind, cs, q, px, 0.0)
    cash[v] -= fee_liq
    d_fee[v] += fee_liq
    d_perp[v] += price_move_pnl_nb(kind, cs, q, px, close)
    n_bl = _log_fill(bl_i, bl_f, n_bl, c, t, i, q, px, close, fee_liq, 0.0, E.R_LIQUIDATION,
                     E.ORDER_MARKET, t, 0.0, 0.0)  # fmt: skip
    if n_lq < lq_i.shape[1]:
        lq_i[c, n_lq, 0] = t
        lq_i[c, n_lq, 1] = v
        lq_i[c, n_lq, 2] = i
        lq_f[c, n_lq, 0] = q
        lq_f[c, n_lq, 1] = px
        lq_f[c, n_lq, 2] = fee_liq
        lq_f[c, n_lq, 3] = eq_before
        lq_f[c, n_lq, 4] = maint
    return n_bl, n_lq + 1


@njit(cache=True, error_model="numpy")
def _options_affordable_nb(cash, pos, entry, slots, v, inst_kind, inst_venue, inst_cs, close, t,
                           leverage, p, s, kc, kp, t_ns, vol, skew, curv, q):  # fmt: skip
    """Whether venue ``v`` can open the strategy's options now: long premium (plus fee) or the
    short options' initial margin (Deribit-style: max(0.15 - OTM/S, 0.10) x S + mark per
    option) must fit in its equity left after the perps' initial margin."""
    free = cash[v]
    for j in range(pos.shape[0]):
        if inst_venue[j] != v or pos[j] == 0.0:
            continue
        free += unrealized_nb(inst_kind[j], inst_cs[j], pos[j], entry[j], close[j, t])
        if inst_kind[j] == E.PERP_INVERSE:
            free -= abs(pos[j]) * inst_cs[j] / close[j, t] / leverage
        elif inst_kind[j] == E.PERP_LINEAR:
            free -= abs(pos[j]) * inst_cs[j] * close[j, t] / leverage
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
            free += slots[k, SL_VALUE]
    tau = p[E.P_EXPIRY_NS] * YEARS_PER_NS
    model = int(p[E.P_MODEL])
    lc = math.log(s / kc)
    lp = math.log(s / kp)
    call, _ = _opt_core_nb(model, s, kc, lc, tau, smile_vol_nb(vol, skew, curv, -lc),
                           p[E.P_RATE], p[E.P_CARRY], 1.0, 0.0, True)  # fmt: skip
    put, _ = _opt_core_nb(model, s, kp, lp, tau, smile_vol_nb(vol, skew, curv, -lp),
                          p[E.P_RATE], p[E.P_CARRY], 0.0, 1.0, True)  # fmt: skip
    if p[E.P_SIDE] > 0.0:
        need = q * (call + put) * (1.0 + 0.125)  # premium plus at most the capped fee
    else:
        need = q * (short_option_margin_nb(True, s, kc, call, True)
                    + short_option_margin_nb(False, s, kp, put, True))  # fmt: skip
    if p[E.P_OPT_SETTLE] == 1.0:
        need = need / s
    return free >= need


@njit(cache=True, inline="always", error_model="numpy")
def _ratio_max_nb(current, maint, equity):
    """max(current, maint / equity) without a division unless it is a new maximum; a
    non-positive equity with margin to maintain is an infinite ratio."""
    if maint <= 0.0:
        return current
    if equity <= 0.0:
        return np.inf
    if maint > current * equity:
        return maint / equity
    return current


@njit(cache=True, error_model="numpy")
def _market_fill_nb(cash, pos, entry, i, v, kind, cs, q, ref, spread, sigma, volume, p, fee_rate):
    """A market order of ``q`` contracts filled at reference ``ref`` plus slippage.
    Returns (exec price, fee, slippage cost), both costs >= 0 in venue currency."""
    sl = slippage_nb(
        int(p[E.P_SLIP_MODEL]),
        q,
        cs,
        ref,
        spread,
        sigma,
        volume,
        p[E.P_SLIP_BPS],
        p[E.P_SLIP_K],
        p[E.P_IMPACT_K],
    )
    px = ref + sl if q > 0.0 else ref - sl
    fee, _ = fill_nb(cash, pos, entry, i, v, kind, cs, q, px, fee_rate)
    return px, fee, price_move_pnl_nb(kind, cs, q, ref, px)


@njit(cache=True, error_model="numpy")
def _close_slot_nb(slots, k, event, t, s, c, rl_i, rl_f, n_rl):
    """Log a slot's end (expiry, early close, liquidation) and clear it. Returns the count."""
    n_rl = _log_roll(rl_i, rl_f, n_rl, c, t, event, slots[k], s, slots[k, SL_VALUE])
    for j in range(N_SLOT):
        slots[k, j] = 0.0
    return n_rl


@njit(cache=True, error_model="numpy")
def _log_roll(rl_i, rl_f, n, c, t, event, slot, s, cash_flow):
    if n < rl_i.shape[1]:
        rl_i[c, n, 0] = t
        rl_i[c, n, 1] = event
        rl_f[c, n, 0] = slot[SL_STRIKE]
        rl_f[c, n, 1] = slot[SL_EXPIRY_NS]
        rl_f[c, n, 2] = slot[SL_CALL_QTY]
        rl_f[c, n, 3] = slot[SL_PUT_QTY]
        rl_f[c, n, 4] = s
        rl_f[c, n, 5] = cash_flow
    return n + 1


@njit(cache=True, error_model="numpy")
def run_config_nb(
    c,
    # market
    ts,
    close,
    open_,
    high,
    low,
    volume,
    spread,
    mark,
    index,
    log_index,
    sigma_bar,
    inst_kind,
    inst_venue,
    inst_cs,
    inst_lot,
    inst_tick,
    inst_und,
    iv,
    smile,
    f_inst,
    f_bar,
    f_rate,
    due_bar,
    inst_fann,
    # venues
    venue_fx_inst,
    tier_floor,
    tier_cap,
    tier_mmr,
    tier_amt,
    # configuration
    params,
    vparams,
    stride,
    # scripted orders: rows sched_start[c]:sched_start[c+1] of (bar, inst, qty, type, limit)
    sched_start,
    sched_bar,
    sched_inst,
    sched_qty,
    sched_type,
    sched_limit,
    # outputs
    steps,
    totals,
    bl_i,
    bl_f,
    fl_i,
    fl_f,
    rl_i,
    rl_f,
    lq_i,
    lq_f,
    ev_i,
    ev_f,
    full=None,
    py_buf=None,
):
    """Simulate configuration ``c`` over all bars, writing its row of every output array.

    Order within a timestamp: funding and expiries due now -> fills of resting and in-flight
    orders -> strategy decides -> new orders enter the latency queue (those due now fill at
    this bar's close) -> margin check and liquidation -> equity, identity check, record.

    ``steps[c]`` has one column per ``stride`` bars (stride 1: every bar): equity and
    instantaneous state at the block's last bar, flows summed over the block. Options are
    revalued every bar when stride is 1, when any venue is coin-margined or options are short;
    otherwise only where needed (record points, expiries, rolls, margin stress) - exact in
    aggregate, and much faster (the delta is still computed every bar). In that mode a venue
    holding a single linear perp skips its per-bar margin check while nothing about it changes
    and the prices stay in its margin box (:func:`margin_box_nb`): bit-identical results.

    ``full`` (an array, not None) compiles the full kernel: perp templates, risk overlays,
    caps, hedge bias, intrabar detection. With ``full`` None numba prunes all of that (the
    lean specialization the plain straddle and sweeps of it run); a configuration that needs
    it is then refused.

    ``py_buf`` (an array, not None) switches on the Python strategy protocol: after the
    built-in strategy decided, the kernel calls :func:`_python_decide` (object mode), which asks
    the active Python strategy for orders and writes them into ``py_buf``. With ``py_buf`` None
    numba prunes that branch: the compiled path does not change.
    """
    n_bars = ts.shape[0]
    n_inst = close.shape[0]
    n_ven = vparams.shape[1]
    p = params[c]
    record = steps.shape[2] > 0

    cash = np.empty(n_ven)
    for v in range(n_ven):
        cash[v] = vparams[c, v, E.V_CAPITAL]
    pos = np.zeros(n_inst)
    entry = np.zeros(n_inst)
    slots = np.zeros((MAX_SLOTS, N_SLOT))
    orders = np.zeros((MAX_ORDERS + 1, N_ORDER))  # + the high-water-mark row
    ven_eq = np.zeros(n_ven)  # venue equity at the previous equity point (venue currency)
    ven_fx = np.ones(n_ven)  # conversion to USD, previous bar
    fx_now = np.ones(n_ven)

    strategy = int(p[E.P_STRATEGY])
    hedge_inst = int(p[E.P_HEDGE_INST])
    opt_inst = int(p[E.P_OPT_INST])
    opt_venue = int(p[E.P_OPT_VENUE])
    und = inst_und[opt_inst] if opt_inst >= 0 else 0
    side = p[E.P_SIDE]
    band = p[E.P_BAND]

    coin_venue = False
    for v in range(n_ven):
        if venue_fx_inst[v] >= 0:
            coin_venue = True
    # overlays that act on equity or margin need the options valued every bar
    value_each_bar = (
        stride == 1 or coin_venue or side < 0.0 or p[E.P_MARGIN_BUF] > 0.0 or py_buf is not None
    )

    # per-venue flows of one step (venue currency), booked and cleared by step 6
    d_perp = np.zeros(n_ven)
    d_opt = np.zeros(n_ven)
    d_fund = np.zeros(n_ven)
    d_fee = np.zeros(n_ven)
    d_slip = np.zeros(n_ven)
    # USD flows since the last record column / since the last equity point
    r_flow = np.zeros(6)
    e_flow = 0.0

    n_live = 0  # active orders (in flight or resting)
    n_rejected = 0
    open_refused = False
    dbuf = np.empty(2 * DELTA_BLOCK)  # option delta of upcoming bars (fast path), scratch
    gbuf = np.empty(DELTA_BLOCK)  # their gamma (only with the Whalley-Wilmott trigger)
    trig = int(p[E.P_TRIGGERS])
    want_gamma = (trig & E.TRIG_WW) != 0
    last_hedge_px = close[hedge_inst, 0] if hedge_inst >= 0 else 0.0
    last_hedge_ns = ts[0] - p[E.P_INTERVAL_NS]  # the time trigger fires on the first bar
    dbuf_start = 0
    dbuf_len = 0
    n_open_slots = 0
    next_exp = np.inf  # earliest expiry of the open options, ns
    roll_before = p[E.P_ROLL_BEFORE_NS]
    sptr = sched_start[c]
    s_end = sched_start[c + 1]
    n_bl = 0
    n_fl = 0
    n_rl = 0
    n_lq = 0
    n_trades = 0
    n_liq = 0
    n_rolls = 0
    failed_bar = -1
    tot = np.zeros(7)  # perp, opt, funding, fees, slippage, fx, option fees
    max_resid = 0.0
    max_mr = 0.0
    fptr = 0
    n_f = f_bar.shape[0]
    equity0 = 0.0
    for v in range(n_ven):
        fx0 = 1.0 if venue_fx_inst[v] < 0 else index[venue_fx_inst[v], 0]
        equity0 += vparams[c, v, E.V_CAPITAL] * fx0
        ven_eq[v] = vparams[c, v, E.V_CAPITAL]
        ven_fx[v] = fx0
    equity_prev = equity0
    bars_run = 0
    mr_block = 0.0
    until_rec = stride  # bars left until the next record column
    # margin boxes (step 5 fast path, see margin_box_nb), for cross-margined venues when options
    # are valued only where needed: mb_inst[v] is the venue's perp (-1: no box, -2: the venue
    # held nothing at its last check); its prices up to bar mb_end[v] - 1 are in the box
    mbox = np.zeros((n_ven, N_MB))
    mb_inst = np.full(n_ven, -1, dtype=np.int64)
    mb_end = np.zeros(n_ven, dtype=np.int64)
    # slot_epoch counts changes of the option book (values, opens, closes): a box made at the
    # current epoch has the book's value it was made with, without summing it again
    slot_epoch = 0
    mb_epoch = np.full(n_ven, -1, dtype=np.int64)
    box_ok = np.zeros(n_ven, dtype=np.bool_)
    solo = np.zeros(n_ven, dtype=np.bool_)  # the venue lists a single instrument
    for v in range(n_ven):
        box_ok[v] = not value_each_bar and vparams[c, v, E.V_ISOLATED] == 0.0
        solo[v] = (inst_venue == v).sum() == 1

    # ---- perp templates and risk overlays -------------------------------------------------
    last_rate = np.full(n_inst, np.nan)  # last settled funding rate per instrument
    rates_new = True  # carry: a rate settled (or the direction changed) since its last check
    st = np.zeros(N_TSTATE)
    st[2] = np.nan if strategy == E.STRAT_PAIR else 0.0
    st[4] = 1.0
    st[5] = 1.0
    st[6] = -1.0
    st[7] = -1.0
    leg_a = int(p[E.P_LEG_A])
    leg_b = int(p[E.P_LEG_B])
    nw = max(1, int(p[E.P_WINDOW]))
    ring_a = np.zeros(nw)
    ring_b = np.zeros(nw if strategy == E.STRAT_PAIR else 1)
    main_inst = hedge_inst if strategy == E.STRAT_STRADDLE else leg_a
    risk_on = (
        p[E.P_STOP_LOSS] > 0.0
        or p[E.P_LEG_STOP] > 0.0
        or p[E.P_MARGIN_BUF] > 0.0
        or p[E.P_VOL_K] > 0.0
        or p[E.P_TREND_THR] > 0.0
        or p[E.P_STREAK] > 0.0
        or p[E.P_INV_RESET] > 0.0
    )
    n_streak = int(p[E.P_STREAK])
    rs = np.zeros(N_RSTATE)
    # the vol breaker's and trend filter's windows (market data only): their states for a
    # block of bars ahead (overlay_windows_nb), and the windows' state between blocks
    vol_on = p[E.P_VOL_K] > 0.0 and main_inst >= 0
    trend_on = p[E.P_TREND_THR] > 0.0 and main_inst >= 0
    ring_v = np.zeros(max(1, int(p[E.P_VOL_LONG])) if vol_on else 1)
    ring_t = np.zeros(max(1, int(p[E.P_TREND_SLOW])) if trend_on else 1)
    wbuf = np.empty((N_W, DELTA_BLOCK if vol_on or trend_on else 1))
    w_state = np.zeros(8)
    wb_start = 0
    wb_len = 0
    # overlay state: 0 stopped (catastrophic stop), 1 resume time (-1: for good), 2 the stop's
    # base equity, 3 loss-streak pause end, 4 vol breaker on, 5 trend direction, 6 re-strike
    ovs = np.zeros(8)
    ovs[1] = -1.0
    ovs[2] = equity0
    ovs[3] = -np.inf
    leg_until = np.full(n_inst, -np.inf)  # per-leg stop: blocked until this time
    n_ev = 0
    capped = p[E.P_MAX_POS] > 0.0 or p[E.P_MAX_NOTIONAL] > 0.0
    # one test of the argument's type, then a plain bool: numba prunes every branch on it in
    # the lean specialization (full None), and in the full one each use is free (testing the
    # array argument itself in the bar loop costs reference counting on it every time)
    is_full = full is not None
    if full is None and (
        risk_on
        or capped
        or p[E.P_HEDGE_BIAS] != 0.0
        or p[E.P_INTRABAR] != 0.0
        or (strategy != E.STRAT_NONE and strategy != E.STRAT_STRADDLE)
    ):
        raise ValueError("this configuration needs the full kernel (run_config_nb's full=)")

    for t in range(n_bars):
        t_ns = ts[t]
        if n_live == 0:
            orders[MAX_ORDERS, O_LIMIT] = 0.0  # no live order: the high-water mark restarts
        # (the per-venue flows d_* are zero here: step 6 books and clears them)

        # ---- 0. mark-to-market of what was held over (t-1, t] --------------------------
        if t > 0:
            for i in range(n_inst):
                if pos[i] != 0.0:
                    d_perp[inst_venue[i]] += price_move_pnl_nb(
                        inst_kind[i], inst_cs[i], pos[i], close[i, t - 1], close[i, t]
                    )
        opt_delta = 0.0
        if n_open_slots > 0:
            if value_each_bar:
                slot_epoch += 1  # the option book may change
                opt_delta = revalue_slots_nb(
                    slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, True
                )
            else:
                # deltas do not depend on trading: compute a block of upcoming bars in one
                # tight loop (independent iterations pipeline); any change of the option book
                # invalidates the block (dbuf_len = 0)
                if t >= dbuf_start + dbuf_len:
                    dbuf_start = t
                    dbuf_len = delta_block_nb(
                        dbuf,
                        gbuf,
                        want_gamma,
                        slots,
                        t,
                        ts,
                        index,
                        log_index,
                        iv,
                        smile,
                        inst_und,
                    )
                opt_delta = dbuf[t - dbuf_start]
        s_opt = index[opt_inst, t] if opt_inst >= 0 else 0.0
        vol_t = iv[und, t] if opt_inst >= 0 else 0.0

        # ---- 1a. funding due now, on the position carried into this bar -----------------
        while fptr < n_f and f_bar[fptr] <= t:
            if f_bar[fptr] == t:
                i = f_inst[fptr]
                last_rate[i] = f_rate[fptr]
                rates_new = True
                if pos[i] != 0.0:
                    v = inst_venue[i]
                    rec = fund_nb(
                        cash, pos, i, v, inst_kind[i], inst_cs[i], mark[i, t], f_rate[fptr]
                    )
                    d_fund[v] += rec
                    if n_fl < fl_i.shape[1]:
                        fl_i[c, n_fl, 0] = t
                        fl_i[c, n_fl, 1] = i
                        fl_f[c, n_fl, 0] = pos[i]
                        fl_f[c, n_fl, 1] = mark[i, t]
                        fl_f[c, n_fl, 2] = f_rate[fptr]
                        fl_f[c, n_fl, 3] = rec
                    n_fl += 1
            fptr += 1

        # ---- 1b. expiries: cash-settle at intrinsic on the index -------------------------
        if t_ns >= next_exp:
            if not value_each_bar:
                slot_epoch += 1  # the option book may change
                revalue_slots_call_nb(
                    slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, True
                )
            for k in range(MAX_SLOTS):
                if slots[k, SL_ACTIVE] != 0.0 and slots[k, SL_EXPIRY_NS] <= t_ns:
                    cash[int(slots[k, SL_VENUE])] += slots[k, SL_VALUE]  # intrinsic
                    slot_epoch += 1  # the option book may change
                    n_rl = _close_slot_nb(
                        slots,
                        k,
                        E.EV_EXPIRE,
                        t,
                        index[int(slots[k, SL_INST]), t],
                        c,
                        rl_i,
                        rl_f,
                        n_rl,
                    )
                    n_open_slots -= 1
            next_exp = next_expiry_nb(slots)
            opt_delta = slots_delta_nb(slots)
            dbuf_len = 0

        # ---- 2. fills of resting and in-flight orders ------------------------------------
        for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
            if orders[k, O_ACTIVE] == 0.0 or orders[k, O_DUE_BAR] > t:
                continue
            i = int(orders[k, O_INST])
            q = orders[k, O_QTY]
            v = inst_venue[i]
            if orders[k, O_TYPE] == E.ORDER_LIMIT:
                lim = orders[k, O_LIMIT]
                # fills only when the price trades through the limit; no price improvement
                if not ((q > 0.0 and low[i, t] < lim) or (q < 0.0 and high[i, t] > lim)):
                    continue
                pnl_c = _closing_pnl_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], q, lim)
                fee, _ = fill_nb(
                    cash,
                    pos,
                    entry,
                    i,
                    v,
                    inst_kind[i],
                    inst_cs[i],
                    q,
                    lim,
                    vparams[c, v, E.V_MAKER],
                )
                if is_full and n_streak > 0 and _streak_nb(rs, pnl_c, fee, n_streak):
                    ovs[3] = t_ns + p[E.P_STREAK_PAUSE_NS]
                    n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_STREAK_PAUSE, i, n_streak, 0)
                d_fee[v] += fee
                d_perp[v] += price_move_pnl_nb(inst_kind[i], inst_cs[i], q, lim, close[i, t])
                n_bl = _log_fill(
                    bl_i,
                    bl_f,
                    n_bl,
                    c,
                    t,
                    i,
                    q,
                    lim,
                    lim,
                    fee,
                    0.0,
                    orders[k, O_REASON],
                    E.ORDER_LIMIT,
                    orders[k, O_DECIDED_BAR],
                    0.0,
                    0.0,
                )
            else:
                if not initial_margin_ok_nb(
                    cash,
                    pos,
                    entry,
                    slots,
                    v,
                    i,
                    q,
                    inst_kind,
                    inst_venue,
                    inst_cs,
                    close,
                    t,
                    vparams[c, v, E.V_LEVERAGE],
                ):
                    n_rejected += 1
                    orders[k, O_ACTIVE] = 0.0
                    n_live -= 1
                    continue
                pos_b, entry_b = pos[i], entry[i]
                px, fee, scost = _market_fill_nb(
                    cash,
                    pos,
                    entry,
                    i,
                    v,
                    inst_kind[i],
                    inst_cs[i],
                    q,
                    close[i, t],
                    spread[i, t],
                    sigma_bar[i, t],
                    volume[i, t],
                    p,
                    vparams[c, v, E.V_TAKER],
                )
                if is_full and n_streak > 0 and _streak_nb(
                    rs, _closing_pnl_nb(inst_kind[i], inst_cs[i], pos_b, entry_b, q, px), fee,
                    n_streak,
                ):  # fmt: skip
                    ovs[3] = t_ns + p[E.P_STREAK_PAUSE_NS]
                    n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_STREAK_PAUSE, i, n_streak, 0)
                d_fee[v] += fee
                d_slip[v] += scost
                n_bl = _log_fill(
                    bl_i,
                    bl_f,
                    n_bl,
                    c,
                    t,
                    i,
                    q,
                    px,
                    close[i, t],
                    fee,
                    scost,
                    orders[k, O_REASON],
                    E.ORDER_MARKET,
                    orders[k, O_DECIDED_BAR],
                    0.0,
                    0.0,
                )
            n_trades += 1
            orders[k, O_ACTIVE] = 0.0
            n_live -= 1

        # ---- 3. strategy decides ----------------------------------------------------------
        # scripted orders (user-given or from a Python strategy) decided at this bar
        while sptr < s_end and sched_bar[sptr] <= t:
            if sched_bar[sptr] == t and failed_bar < 0:
                otype = int(sched_type[sptr])
                due = due_bar[t] if otype == E.ORDER_MARKET else t + 1
                if (
                    _add_order(
                        orders,
                        sched_inst[sptr],
                        sched_qty[sptr],
                        otype,
                        sched_limit[sptr],
                        due,
                        E.R_USER,
                        t,
                    )
                    >= 0
                ):
                    n_live += 1
            sptr += 1
        # ---- 3a. risk overlays (before the strategy, on the state after this bar's fills) --
        trade_ok = failed_bar < 0 and ovs[0] == 0.0
        hedge_ok = trade_ok
        size_mult = 1.0
        if is_full and risk_on and failed_bar < 0:
            # Everything up to the call of _overlays_nb is written out rather than shared
            # through helpers: a helper taking arrays costs the bar loop atomic reference
            # counting on each of them, every bar (measured: 3 -> 10+ M bars/s).
            # the vol breaker's and trend filter's states (see overlay_windows_nb)
            vol_state = -1.0
            trend_state = -2.0
            if vol_on or trend_on:
                if t >= wb_start + wb_len:
                    wb_start = t
                    wb_len = min(DELTA_BLOCK, n_bars - t)
                    overlay_windows_nb(
                        wbuf, t, wb_len, close, main_inst,
                        p[E.P_VOL_K] if vol_on else 0.0, int(p[E.P_VOL_SHORT]), ring_v,
                        p[E.P_TREND_THR] if trend_on else 0.0, int(p[E.P_TREND_FAST]), ring_t,
                        w_state,
                    )  # fmt: skip
                vol_state = wbuf[W_VOL, t - wb_start]
                trend_state = wbuf[W_TREND, t - wb_start]
            # whether any overlay may act at this bar: a cheap, conservative test, so that
            # _overlays_nb (a call with many arrays) runs only when something can happen - a
            # vol or trend state change, a pause ending, a possible stop breach (equity
            # without long options is a lower bound), a leg beyond its stop, an open perp
            # under the margin buffer rule, an inventory at its reset level
            due = vol_state >= 0.0 and (vol_state == 1.0) != (ovs[4] != 0.0)
            if not due and trend_state > -2.0:
                due = trend_state != ovs[5]
            if not due and ovs[3] > -np.inf and t_ns >= ovs[3]:
                due = True
            if not due and p[E.P_STOP_LOSS] > 0.0:
                if ovs[0] != 0.0:
                    due = ovs[1] >= 0.0 and t_ns >= ovs[1]
                else:
                    # total equity in USD at the close (options at their last valuation, or
                    # left out: a lower bound when they are only valued where needed)
                    eq = 0.0
                    for v in range(n_ven):
                        e_v = cash[v]
                        for i in range(n_inst):
                            if inst_venue[i] == v and pos[i] != 0.0:
                                e_v += unrealized_nb(
                                    inst_kind[i], inst_cs[i], pos[i], entry[i], close[i, t]
                                )
                        for k in range(MAX_SLOTS if value_each_bar else 0):
                            if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                                e_v += slots[k, SL_VALUE]
                        eq += e_v * (1.0 if venue_fx_inst[v] < 0 else index[venue_fx_inst[v], t])
                    due = eq < ovs[2] * (1.0 - p[E.P_STOP_LOSS])
            if not due and ovs[0] == 0.0:
                for i in range(n_inst):
                    if pos[i] == 0.0:
                        continue
                    if p[E.P_MARGIN_BUF] > 0.0 and inst_kind[i] != E.SPOT:
                        due = True
                        break
                    if p[E.P_LEG_STOP] > 0.0 and t_ns >= leg_until[i]:
                        u = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], close[i, t])
                        basis = abs(pos[i]) * inst_cs[i]
                        if inst_kind[i] == E.PERP_INVERSE:
                            basis = basis / entry[i]
                        else:
                            basis = basis * entry[i]
                        if u < -p[E.P_LEG_STOP] * basis:
                            due = True
                            break
                if not due and p[E.P_INV_RESET] > 0.0:
                    if strategy == E.STRAT_STRADDLE and hedge_inst >= 0 and n_open_slots > 0:
                        hd = _inst_delta(inst_kind[hedge_inst], inst_cs[hedge_inst],
                                         pos[hedge_inst], close[hedge_inst, t])  # fmt: skip
                        due = abs(hd) >= p[E.P_INV_RESET]
                    elif strategy == E.STRAT_SCALP and pos[leg_a] != 0.0:
                        hd = coin_delta_nb(inst_kind[leg_a], inst_cs[leg_a], pos[leg_a],
                                           close[leg_a, t])  # fmt: skip
                        due = abs(hd) >= p[E.P_INV_RESET]
            if due:
                # the windows' values, for the event log
                vs = vl = tr = math.nan
                if vol_on or trend_on:
                    vs, vl, tr = window_values_nb(
                        wbuf, t - wb_start, int(p[E.P_VOL_SHORT]), ring_v.shape[0],
                        int(p[E.P_TREND_FAST]), ring_t.shape[0],
                    )  # fmt: skip
                slot_epoch += 1  # the option book may change
                (n_ev, n_rl, n_live, n_open_slots, next_exp, opt_delta,
                 dbuf_len) = _overlays_nb(
                    c, t, t_ns, p, strategy, main_inst, hedge_inst, leg_a, value_each_bar, cash,
                    pos, entry, slots, orders, close, mark, index, log_index, iv, smile,
                    inst_und, inst_kind, inst_venue, inst_cs, inst_lot, venue_fx_inst, due_bar,
                    tier_floor, tier_cap, tier_mmr, tier_amt, vparams, d_fee, d_opt, tot, s_opt,
                    rl_i, rl_f, ev_i, ev_f, vs, vl, tr, vol_state, trend_state, leg_until, st,
                    ovs, n_ev, n_rl, n_live,
                    n_open_slots, next_exp, opt_delta, dbuf_len,
                )  # fmt: skip
            # the gates from the overlay state
            trade_ok = ovs[0] == 0.0 and t_ns >= ovs[3]
            if ovs[4] != 0.0 and p[E.P_VOL_ACT] == 0.0:
                trade_ok = False
            if ovs[4] != 0.0 and p[E.P_VOL_ACT] == 1.0:
                size_mult = p[E.P_VOL_FACTOR]
            hedge_ok = trade_ok and not (ovs[5] != 0.0 and p[E.P_TREND_ACT] == 0.0)
        if strategy == E.STRAT_STRADDLE and failed_bar < 0 and ovs[0] == 0.0:
            if ovs[6] != 0.0 or (roll_before > 0.0 and next_exp - t_ns <= roll_before):  # early
                if not value_each_bar:
                    slot_epoch += 1  # the option book may change
                    revalue_slots_call_nb(
                        slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, True
                    )
                for k in range(MAX_SLOTS):
                    if slots[k, SL_ACTIVE] != 0.0 and (
                        ovs[6] != 0.0 or slots[k, SL_EXPIRY_NS] - t_ns <= roll_before
                    ):
                        v = int(slots[k, SL_VENUE])
                        fee = _option_fee(p[E.P_OPT_FEE], slots[k], s_opt, slots[k, SL_VALUE])
                        cash[v] += slots[k, SL_VALUE] - fee
                        d_fee[v] += fee
                        tot[6] += fee
                        slot_epoch += 1  # the option book may change
                        n_rl = _close_slot_nb(slots, k, E.EV_CLOSE, t, s_opt, c, rl_i, rl_f, n_rl)
                        n_open_slots -= 1
                next_exp = next_expiry_nb(slots)
                opt_delta = slots_delta_nb(slots)
                dbuf_len = 0
                ovs[6] = 0.0
            can_open = n_open_slots == 0 and t < n_bars - 1
            kc = kp = q_open = 0.0
            if can_open:
                kc, kp, q_open = _entry_nb(p, s_opt, vol_t, smile[und, 0], smile[und, 1])
            if can_open and not _options_affordable_nb(
                cash, pos, entry, slots, opt_venue, inst_kind, inst_venue, inst_cs, close, t,
                vparams[c, opt_venue, E.V_LEVERAGE], p, s_opt, kc, kp, t_ns, vol_t,
                smile[und, 0], smile[und, 1], q_open,
            ):  # fmt: skip
                can_open = False
                if not open_refused:
                    n_rejected += 1  # counted once per refused stretch, retried every bar
                open_refused = True
            if can_open:
                open_refused = False
                n_rolls += 1
                qty = side * q_open
                lg = log_index[opt_inst, t]
                # a straddle is one slot (calls and puts on one strike); a strangle two
                n_open_slots = 1 if kc == kp else 2
                for k in range(n_open_slots):
                    slot_epoch += 1  # the option book may change
                    n_rl, fee = _open_slot(
                        slots, k, opt_venue, opt_inst, kc if k == 0 else kp, t_ns,
                        qty if k == 0 else 0.0, qty if (k == 1 or kc == kp) else 0.0, p, s_opt,
                        lg, vol_t, smile[und, 0], smile[und, 1], cash, d_fee, t, c, rl_i, rl_f,
                        n_rl,
                    )  # fmt: skip
                    tot[6] += fee
                next_exp = next_expiry_nb(slots)
                opt_delta = slots_delta_nb(slots)
                dbuf_len = 0
            # delta-band hedge
            if hedge_inst >= 0 and hedge_ok and t_ns >= leg_until[hedge_inst]:
                hp = close[hedge_inst, t]
                ib_walk = False
                if is_full and p[E.P_INTRABAR] != 0.0 and t > 0 and n_open_slots > 0:
                    # quiet bar test, written out (see the overlays above): no price of the bar
                    # can take |net delta| beyond the band when (linear hedge, flat smile) every
                    # price is within ib_dist of the close and the book's gamma is at most
                    # sum |qty| x pdf(0) / (S_min vol sqrt(tau)); otherwise the net delta is
                    # monotone in the price (one sign of gamma) and the bar's extremes bound it
                    ib_ratio = index[opt_inst, t] / hp
                    ib_walk = inst_kind[hedge_inst] == E.PERP_INVERSE
                    ib_dist = (
                        max(
                            close[hedge_inst, t] - low[hedge_inst, t],
                            high[hedge_inst, t] - close[hedge_inst, t],
                        )
                        * ib_ratio
                    )
                    ib_smin = low[hedge_inst, t] * ib_ratio
                    ib_g = 0.0
                    ib_long = True  # every option held long: the net delta rises with the price
                    ib_short = True  # every option held short: it falls
                    for k in range(0 if ib_walk else MAX_SLOTS):
                        if slots[k, SL_ACTIVE] == 0.0:
                            continue
                        ib_u = inst_und[int(slots[k, SL_INST])]
                        ib_tau = (slots[k, SL_EXPIRY_NS] - t_ns) * YEARS_PER_NS
                        if smile[ib_u, 0] != 0.0 or smile[ib_u, 1] != 0.0 or ib_tau <= 0.0:
                            ib_walk = True
                            break
                        ib_v = iv[ib_u, t]
                        if slots[k, SL_LELAND] != 0.0:
                            ib_v = leland_vol_nb(ib_v, slots[k, SL_LELAND])
                        ib_q = slots[k, SL_CARRY]
                        if slots[k, SL_MODEL] == 1.0:
                            ib_q = slots[k, SL_RATE]
                        ib_dq = math.exp(-ib_q * ib_tau) if ib_q < 0.0 else 1.0
                        ib_qty = abs(slots[k, SL_CALL_QTY]) + abs(slots[k, SL_PUT_QTY])
                        if slots[k, SL_CALL_QTY] < 0.0 or slots[k, SL_PUT_QTY] < 0.0:
                            ib_long = False
                        if slots[k, SL_CALL_QTY] > 0.0 or slots[k, SL_PUT_QTY] > 0.0:
                            ib_short = False
                        ib_g += (
                            ib_qty
                            * ib_dq
                            * 0.3989422804014327
                            / (ib_smin * ib_v * math.sqrt(ib_tau))
                        )
                    if not ib_walk:
                        ib_net = opt_delta + _inst_delta(
                            inst_kind[hedge_inst], inst_cs[hedge_inst], pos[hedge_inst], hp
                        )
                        if abs(ib_net) + ib_g * ib_dist > band:
                            # one side at a time: with one sign of gamma the net delta is
                            # highest at one extreme and lowest at the other; an extreme is
                            # valued only if the bound says it may be beyond the band there
                            ib_up = ib_g * (high[hedge_inst, t] - hp) * ib_ratio
                            ib_dn = ib_g * (hp - low[hedge_inst, t]) * ib_ratio
                            for j in range(2):
                                ib_x = low[hedge_inst, t] if j == 0 else high[hedge_inst, t]
                                if ib_long and (
                                    (j == 0 and ib_net - ib_dn >= -band)
                                    or (j == 1 and ib_net + ib_up <= band)
                                ):
                                    continue
                                if ib_short and (
                                    (j == 0 and ib_net + ib_dn <= band)
                                    or (j == 1 and ib_net - ib_up >= -band)
                                ):
                                    continue
                                if abs(_net_delta_at_nb(
                                    slots, t_ns, ib_x, ib_ratio, iv, smile, inst_und, t,
                                    inst_kind[hedge_inst], inst_cs[hedge_inst], pos[hedge_inst],
                                )) > band:  # fmt: skip
                                    ib_walk = True
                                    break
                if ib_walk:
                    hv = inst_venue[hedge_inst]
                    n_bl, n_ib, n_rj, ib_px = _intrabar_hedge_nb(
                        c, t, t_ns, hedge_inst, hv, slots, cash, pos, entry, inst_kind, inst_cs,
                        inst_lot, close, open_, high, low, spread, sigma_bar, volume,
                        index[opt_inst, t] / hp, iv, smile, inst_und, p,
                        vparams[c, hv, E.V_TAKER], vparams[c, hv, E.V_LEVERAGE], inst_venue,
                        band, (1.0 + p[E.P_HEDGE_BIAS]) * size_mult, d_fee, d_slip, d_perp,
                        bl_i, bl_f, n_bl, opt_delta,
                    )  # fmt: skip
                    n_trades += n_ib
                    n_rejected += n_rj
                    if n_ib > 0:
                        last_hedge_px = ib_px
                        last_hedge_ns = t_ns
                net = opt_delta + _inst_delta(
                    inst_kind[hedge_inst], inst_cs[hedge_inst], pos[hedge_inst], hp
                )
                # in-flight hedge orders count as already done; resting limits are replaced
                for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                    if orders[k, O_ACTIVE] != 0.0 and orders[k, O_INST] == hedge_inst:
                        if orders[k, O_TYPE] == E.ORDER_LIMIT:
                            orders[k, O_ACTIVE] = 0.0
                            n_live -= 1
                        else:
                            net += _inst_delta(
                                inst_kind[hedge_inst], inst_cs[hedge_inst], orders[k, O_QTY], hp
                            )
                # triggers (combinable): the delta band, the Whalley-Wilmott band, a price move
                # or a time interval since the last hedge
                thr = band
                h3 = 0.0
                fire = (trig & E.TRIG_BAND) != 0 and abs(net) > band
                if trig & E.TRIG_WW:
                    if not value_each_bar and dbuf_start <= t < dbuf_start + dbuf_len:
                        # the fast path: gamma of this bar from the block (same arithmetic)
                        g = gbuf[t - dbuf_start]
                        cost = vparams[c, inst_venue[hedge_inst], E.V_TAKER]
                        ra = p[E.P_RISK_AVERSION]
                        h3 = 0.0
                        if g != 0.0 and cost > 0.0 and ra > 0.0:
                            rr = p[E.P_RATE]
                            disc = (
                                math.exp(-rr * (next_exp - t_ns) * YEARS_PER_NS)
                                if rr != 0.0
                                else 1.0
                            )
                            h3 = 1.5 * disc * cost * index[opt_inst, t] * g * g / ra
                    else:
                        h3 = _ww_band3_nb(
                            slots, t, t_ns, index, log_index, iv, smile, inst_und,
                            vparams[c, inst_venue[hedge_inst], E.V_TAKER], p[E.P_RISK_AVERSION],
                        )  # fmt: skip
                    a_net = abs(net)
                    if a_net * a_net * a_net > h3:
                        fire = True
                    thr = -1.0  # the WW band: its cube root is taken only if it is needed
                if trig & E.TRIG_PRICE:
                    move = abs(hp - last_hedge_px)
                    if (p[E.P_MOVE_ABS] > 0.0 and move >= p[E.P_MOVE_ABS]) or (
                        p[E.P_MOVE_PCT] > 0.0 and move >= p[E.P_MOVE_PCT] * last_hedge_px
                    ):
                        fire = True
                if trig & E.TRIG_TIME and t_ns - last_hedge_ns >= p[E.P_INTERVAL_NS]:
                    fire = True
                if fire:
                    last_hedge_px = hp
                    last_hedge_ns = t_ns
                    want = -net
                    if p[E.P_TARGET] == E.TARGET_EDGE:
                        if thr < 0.0:
                            thr = h3 ** (1.0 / 3.0)
                        if abs(net) > thr:
                            want = -(net - thr) if net > 0.0 else -(net + thr)
                    if is_full and (risk_on or capped or p[E.P_HEDGE_BIAS] != 0.0):
                        want *= (1.0 + p[E.P_HEDGE_BIAS]) * size_mult
                        if ovs[5] != 0.0 and p[E.P_TREND_ACT] == 1.0 and net * ovs[5] > 0.0:
                            want *= 1.0 - p[E.P_TREND_BIAS]  # lean with the trend
                    q = round_to_nb(
                        _delta_to_qty(inst_kind[hedge_inst], inst_cs[hedge_inst], want, hp),
                        inst_lot[hedge_inst],
                    )
                    if is_full and capped and q != 0.0:
                        q, n_ev = _cap_nb(
                            orders,
                            hedge_inst,
                            q,
                            p,
                            pos,
                            inst_kind,
                            inst_venue,
                            inst_cs,
                            inst_lot,
                            close,
                            t,
                            ev_i,
                            ev_f,
                            n_ev,
                            c,
                        )
                    if q != 0.0:
                        otype = int(p[E.P_ORDER_TYPE])
                        lim = 0.0
                        due = due_bar[t]
                        if otype == E.ORDER_LIMIT:
                            off = p[E.P_LIMIT_OFFSET]
                            lim = round_to_nb(
                                hp * (1.0 - off if q > 0.0 else 1.0 + off), inst_tick[hedge_inst]
                            )
                            due = t + 1
                        if _add_order(orders, hedge_inst, q, otype, lim, due, E.R_HEDGE, t) >= 0:
                            n_live += 1

        # the carry and pair legs below are written out rather than shared through a helper:
        # passing the order book and market arrays to a function every bar costs the loop
        # atomic reference counting (measured: 9 -> 4.5 M bars/s)
        elif is_full:  # the perp templates (pruned from the lean kernel)
            if strategy == E.STRAT_CARRY and trade_ok:
                # the direction depends on the settled rates and itself only: re-checked after a
                # settlement or a change (the same decisions as checking every bar)
                why = 0
                if rates_new:
                    why = carry_direction_nb(st, last_rate, inst_fann, leg_a, leg_b,
                                             inst_kind[leg_a], inst_kind[leg_b], p)  # fmt: skip
                    rates_new = why != 0
                for j in range(2):
                    i = leg_a if j == 0 else leg_b
                    if t_ns < leg_until[i]:
                        continue
                    tgt = st[0] * p[E.P_QTY] * size_mult * (1.0 if j == 0 else -1.0)
                    pend = inflight_nb(orders, i) if n_live > 0 else 0.0
                    cur = coin_delta_nb(inst_kind[i], inst_cs[i], pos[i] + pend, close[i, t])
                    tol = p[E.P_TOL] * p[E.P_QTY] if why == 0 else 1e-12 * p[E.P_QTY]
                    if abs(tgt - cur) > tol:
                        q = round_to_nb(
                            contracts_nb(inst_kind[i], inst_cs[i], tgt - cur, close[i, t]),
                            inst_lot[i],
                        )
                        if capped and q != 0.0:
                            q, n_ev = _cap_nb(orders, i, q, p, pos, inst_kind, inst_venue, inst_cs,
                                              inst_lot, close, t, ev_i, ev_f, n_ev, c)  # fmt: skip
                        if (
                            q != 0.0
                            and _add_order(
                                orders,
                                i,
                                q,
                                E.ORDER_MARKET,
                                0.0,
                                due_bar[t],
                                why if why != 0 else E.R_REBALANCE,
                                t,
                            )
                            >= 0
                        ):
                            n_live += 1
            elif strategy == E.STRAT_PAIR and failed_bar < 0:
                step = int(p[E.P_STEP])
                if t >= step and t % step == 0:
                    pair_sample_nb(st, ring_a, ring_b, t, close, leg_a, leg_b, step)
                if trade_ok and st[2] == st[2]:
                    why = 0
                    if st[3] == 0.0:
                        st[3] = p[E.P_SIDE] * p[E.P_NOTIONAL] / close[leg_a, t]
                        why = E.R_ENTRY
                    qa = st[3] * size_mult
                    for j in range(2):
                        i = leg_a if j == 0 else leg_b
                        if t_ns < leg_until[i]:
                            continue
                        tgt = qa if j == 0 else -st[2] * qa * close[leg_a, t] / close[leg_b, t]
                        pend = inflight_nb(orders, i) if n_live > 0 else 0.0
                        cur = coin_delta_nb(inst_kind[i], inst_cs[i], pos[i] + pend, close[i, t])
                        tol = 1e-9 * abs(tgt) if (j == 0 or why != 0) else p[E.P_TOL] * abs(tgt)
                        if abs(tgt - cur) > tol:
                            q = round_to_nb(
                                contracts_nb(inst_kind[i], inst_cs[i], tgt - cur, close[i, t]),
                                inst_lot[i],
                            )
                            if capped and q != 0.0:
                                q, n_ev = _cap_nb(
                                    orders,
                                    i,
                                    q,
                                    p,
                                    pos,
                                    inst_kind,
                                    inst_venue,
                                    inst_cs,
                                    inst_lot,
                                    close,
                                    t,
                                    ev_i,
                                    ev_f,
                                    n_ev,
                                    c,
                                )
                            if (
                                q != 0.0
                                and _add_order(
                                    orders,
                                    i,
                                    q,
                                    E.ORDER_MARKET,
                                    0.0,
                                    due_bar[t],
                                    why if why != 0 else E.R_REBALANCE,
                                    t,
                                )
                                >= 0
                            ):
                                n_live += 1
            elif strategy == E.STRAT_SCALP and failed_bar < 0:
                i = leg_a
                # the moving centre (written out: see the carry leg above), NaN until the window
                # is full; the running sum is re-done once per window (no drift)
                w = ring_a.shape[0]
                n = int(st[1])
                jj = n % w
                if n >= w:
                    st[2] -= ring_a[jj]
                ring_a[jj] = close[i, t]
                st[2] += close[i, t]
                n += 1
                st[1] = n
                centre = math.nan
                if n >= w:
                    if n % w == 0:
                        acc = 0.0
                        for k in range(w):
                            acc += ring_a[k]
                        st[2] = acc
                    centre = st[2] / w
                # a resting clip that is gone has filled (or was cancelled): that side disarms
                for j in range(2):
                    k = int(st[6 + j])
                    if k < 0:
                        continue
                    resting = (
                        orders[k, O_ACTIVE] != 0.0
                        and orders[k, O_REASON] == E.R_SCALP
                        and orders[k, O_INST] == i
                        and (orders[k, O_QTY] > 0.0) == (j == 0)
                    )
                    if resting:
                        orders[k, O_ACTIVE] = 0.0  # cancelled; re-placed below at today's band
                        n_live -= 1
                    else:
                        st[4 + j] = 0.0
                    st[6 + j] = -1.0
                if centre == centre:
                    px = close[i, t]
                    if px >= centre:
                        st[4] = 1.0
                    if px <= centre:
                        st[5] = 1.0
                    if trade_ok and t_ns >= leg_until[i]:
                        clip = p[E.P_QTY] * size_mult
                        pend = inflight_nb(orders, i) if n_live > 0 else 0.0
                        inv = coin_delta_nb(inst_kind[i], inst_cs[i], pos[i] + pend, px)
                        lo = centre * (1.0 - p[E.P_ENTRY])
                        hi = centre * (1.0 + p[E.P_ENTRY])
                        eps = 1e-9 * p[E.P_MAX_INV]
                        limit_mode = p[E.P_ORDER_TYPE] == E.ORDER_LIMIT
                        for j in range(2):
                            sgn = 1.0 if j == 0 else -1.0
                            if st[4 + j] == 0.0 or abs(inv + sgn * clip) > p[E.P_MAX_INV] + eps:
                                continue
                            edge = lo if j == 0 else hi
                            if not limit_mode and (px > lo if j == 0 else px < hi):
                                continue  # market mode: trade at the close beyond the edge
                            lim = round_to_nb(edge, inst_tick[i]) if limit_mode else 0.0
                            q = round_to_nb(
                                contracts_nb(inst_kind[i], inst_cs[i], sgn * clip, lim if limit_mode
                                             else px), inst_lot[i],
                            )  # fmt: skip
                            if capped and q != 0.0:
                                q, n_ev = _cap_nb(
                                    orders,
                                    i,
                                    q,
                                    p,
                                    pos,
                                    inst_kind,
                                    inst_venue,
                                    inst_cs,
                                    inst_lot,
                                    close,
                                    t,
                                    ev_i,
                                    ev_f,
                                    n_ev,
                                    c,
                                )
                            if q == 0.0:
                                continue
                            k = _add_order(
                                orders,
                                i,
                                q,
                                E.ORDER_LIMIT if limit_mode else E.ORDER_MARKET,
                                lim,
                                t + 1 if limit_mode else due_bar[t],
                                E.R_SCALP,
                                t,
                            )
                            if k >= 0:
                                n_live += 1
                                if limit_mode:
                                    st[6 + j] = k
                                else:
                                    st[4 + j] = 0.0

        # ---- 3b. a Python strategy decides (protocol: gammaperp.strategies.protocol) -------
        if py_buf is not None and failed_bar < 0:
            n_py = _python_hook_nb(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf)
            for j in range(n_py):
                otype = int(py_buf[j, 2])
                due = due_bar[t] if otype == E.ORDER_MARKET else t + 1
                if (
                    _add_order(orders, int(py_buf[j, 0]), py_buf[j, 1], otype, py_buf[j, 3], due,
                               int(py_buf[j, 4]), t)
                    >= 0
                ):  # fmt: skip
                    n_live += 1

        # ---- 4. orders due now fill at this bar's close ----------------------------------
        for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
            if (
                orders[k, O_ACTIVE] == 0.0
                or orders[k, O_DUE_BAR] > t
                or orders[k, O_TYPE] != E.ORDER_MARKET
            ):
                continue
            i = int(orders[k, O_INST])
            q = orders[k, O_QTY]
            v = inst_venue[i]
            if not initial_margin_ok_nb(
                cash,
                pos,
                entry,
                slots,
                v,
                i,
                q,
                inst_kind,
                inst_venue,
                inst_cs,
                close,
                t,
                vparams[c, v, E.V_LEVERAGE],
            ):
                n_rejected += 1
                orders[k, O_ACTIVE] = 0.0
                n_live -= 1
                continue
            pos_b, entry_b = pos[i], entry[i]
            px, fee, scost = _market_fill_nb(
                cash,
                pos,
                entry,
                i,
                v,
                inst_kind[i],
                inst_cs[i],
                q,
                close[i, t],
                spread[i, t],
                sigma_bar[i, t],
                volume[i, t],
                p,
                vparams[c, v, E.V_TAKER],
            )
            if is_full and n_streak > 0 and _streak_nb(
                rs, _closing_pnl_nb(inst_kind[i], inst_cs[i], pos_b, entry_b, q, px), fee,
                n_streak,
            ):  # fmt: skip
                ovs[3] = t_ns + p[E.P_STREAK_PAUSE_NS]
                n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_STREAK_PAUSE, i, n_streak, 0)
            d_fee[v] += fee
            d_slip[v] += scost
            n_bl = _log_fill(
                bl_i,
                bl_f,
                n_bl,
                c,
                t,
                i,
                q,
                px,
                close[i, t],
                fee,
                scost,
                orders[k, O_REASON],
                E.ORDER_MARKET,
                orders[k, O_DECIDED_BAR],
                0.0,
                0.0,
            )
            n_trades += 1
            orders[k, O_ACTIVE] = 0.0
            n_live -= 1

        # ---- 5. margin check and liquidation ---------------------------------------------
        # fast path (margin_box_nb): the check below changes nothing while each venue either
        # holds nothing or is in the state of its last exact check with the bar's prices
        # inside its margin box. A bar in the outer box only (no liquidation, same bracket:
        # a new maximum margin ratio, perhaps) needs just the ratio, computed as below.
        # Anything else - a state change, prices outside, a new record column - runs the check.
        quiet = True
        for v in range(n_ven):
            bi = mb_inst[v]
            if bi == -1:
                quiet = False
                break
            if bi == -2 or not solo[v]:
                # no other open position on the venue (the box's perp aside)
                for i in range(n_inst):
                    if i != bi and inst_venue[i] == v and pos[i] != 0.0:
                        quiet = False
                if not quiet:
                    break
                if bi == -2:
                    continue
            if not (
                cash[v] == mbox[v, MB_CASH]
                and pos[bi] == mbox[v, MB_POS]
                and entry[bi] == mbox[v, MB_ENTRY]
            ):
                quiet = False
                break
            if mb_epoch[v] != slot_epoch:
                # the option book changed since the box was made: same value of its options?
                stale = 0.0
                for k in range(MAX_SLOTS):
                    if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                        stale += slots[k, SL_VALUE]
                if stale != mbox[v, MB_STALE]:
                    quiet = False
                    break
                mb_epoch[v] = slot_epoch
            evaluate = mr_block < mbox[v, MB_MR]  # a new record column restarted the maximum
            if not evaluate and t >= mb_end[v]:
                # check the next bars' prices against the box
                mb_end[v] = margin_box_scan_nb(
                    mbox[v, MB_LO], mbox[v, MB_HI], mbox[v, MB_MARK], mbox[v, MB_ADV], mark,
                    low, high, pos[bi] > 0.0, bi, t, min(t + MB_SCAN, n_bars),
                )  # fmt: skip
                evaluate = mb_end[v] == t
            if evaluate:
                m_t = mark[bi, t]
                a_t = low[bi, t] if pos[bi] > 0.0 else high[bi, t]
                if not (
                    mbox[v, MB_OLO] <= m_t
                    and m_t <= mbox[v, MB_OHI]
                    and mbox[v, MB_OLO] <= a_t
                    and a_t <= mbox[v, MB_OHI]
                ):
                    quiet = False
                    break
                # the same arithmetic as the check below (single linear perp, its bracket)
                um = unrealized_nb(E.PERP_LINEAR, inst_cs[bi], pos[bi], entry[bi], m_t)
                notional = abs(pos[bi]) * inst_cs[bi] * m_t
                maint = 0.0
                maint += notional * mbox[v, MB_RATE] - mbox[v, MB_CUM]
                mr_block = _ratio_max_nb(mr_block, maint, cash[v] + um + stale)
                margin_box_ratio_nb(mbox, v, mr_block)
                mbox[v, MB_MARK] = m_t
                mbox[v, MB_ADV] = a_t
                mb_end[v] = t + 1
        for v in range(0 if quiet else n_ven):
            mb_inst[v] = -1
            isolated = vparams[c, v, E.V_ISOLATED] != 0.0
            if isolated:
                # each perp position is margined by its own isolated margin and liquidated alone
                lev = vparams[c, v, E.V_LEVERAGE]
                for i in range(n_inst):
                    if inst_venue[i] != v or pos[i] == 0.0 or inst_kind[i] == E.SPOT:
                        continue
                    iso = isolated_margin_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], lev)
                    um = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], mark[i, t])
                    adverse = low[i, t] if pos[i] > 0.0 else high[i, t]
                    ua = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], adverse)
                    if inst_kind[i] == E.PERP_INVERSE:
                        notional = abs(pos[i]) * inst_cs[i] / mark[i, t]
                    else:
                        notional = abs(pos[i]) * inst_cs[i] * mark[i, t]
                    m_i = maint_margin_nb(
                        notional, tier_floor[v], tier_cap[v], tier_mmr[v], tier_amt[v]
                    )
                    mr_block = _ratio_max_nb(mr_block, m_i, iso + um)
                    if iso + um >= m_i and iso + ua >= m_i:
                        continue
                    n_liq += 1
                    n_bl, n_lq = _liquidate_nb(
                        c, t, i, v, cash, pos, entry, inst_kind, inst_cs, iso, 0.0, m_i,
                        tier_floor[v], tier_cap[v], tier_mmr[v], tier_amt[v], mark[i, t],
                        open_[i, t], low[i, t], high[i, t], close[i, t],
                        vparams[c, v, E.V_LIQ_FEE], iso + um, d_fee, d_perp,
                        bl_i, bl_f, n_bl, lq_i, lq_f, n_lq,
                    )  # fmt: skip
                    n_trades += 1
                    for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                        if orders[k, O_ACTIVE] != 0.0 and orders[k, O_INST] == i:
                            orders[k, O_ACTIVE] = 0.0
                            n_live -= 1
                    if vparams[c, v, E.V_ON_LIQ] == 0.0 and failed_bar < 0:
                        failed_bar = t
            eq_mark = cash[v]
            worst_eq = cash[v]
            maint = 0.0
            n_held = 0  # open positions of the venue, the last one in held
            held = -1
            for i in range(n_inst):
                if inst_venue[i] != v or pos[i] == 0.0:
                    continue
                n_held += 1
                held = i
                if isolated and inst_kind[i] != E.SPOT:
                    # the isolated margin is reserved for its position
                    iso = isolated_margin_nb(
                        inst_kind[i], inst_cs[i], pos[i], entry[i], vparams[c, v, E.V_LEVERAGE]
                    )
                    eq_mark -= iso
                    worst_eq -= iso
                    continue
                um = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], mark[i, t])
                eq_mark += um
                worst_eq += um
                if inst_kind[i] != E.SPOT:
                    # intrabar breach: the adverse extreme of the bar
                    adverse = low[i, t] if pos[i] > 0.0 else high[i, t]
                    worst_eq += (
                        unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], adverse) - um
                    )
                    if inst_kind[i] == E.PERP_INVERSE:
                        notional = abs(pos[i]) * inst_cs[i] / mark[i, t]
                    else:
                        notional = abs(pos[i]) * inst_cs[i] * mark[i, t]
                    maint += maint_margin_nb(
                        notional, tier_floor[v], tier_cap[v], tier_mmr[v], tier_amt[v]
                    )
            if maint <= 0.0 and not value_each_bar:
                if box_ok[v] and n_held == 0:
                    mb_inst[v] = -2  # nothing held: nothing to check until a position opens
                    mb_end[v] = n_bars
                continue
            if not value_each_bar and worst_eq >= maint:
                # long options only (value >= 0): no breach possible without valuing them; the
                # ratio uses their value at the last valuation point
                stale = 0.0
                for k in range(MAX_SLOTS):
                    if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                        stale += slots[k, SL_VALUE]
                mr_block = _ratio_max_nb(mr_block, maint, eq_mark + stale)
                if box_ok[v] and n_held == 1 and inst_kind[held] == E.PERP_LINEAR:
                    margin_box_nb(
                        mbox, v, cash[v], pos[held], inst_cs[held], entry[held], stale, mr_block,
                        mark[held, t], low[held, t] if pos[held] > 0.0 else high[held, t],
                        tier_cap, tier_mmr, tier_amt,
                    )  # fmt: skip
                    mb_inst[v] = held
                    mb_epoch[v] = slot_epoch
                    mb_end[v] = t + 1
                continue
            if not value_each_bar:
                slot_epoch += 1  # the option book may change
                revalue_slots_call_nb(
                    slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, True
                )
            for k in range(MAX_SLOTS):
                if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                    eq_mark += slots[k, SL_VALUE]
                    worst_eq += slots[k, SL_VALUE]
                    maint += _short_option_maint(slots[k], index[int(slots[k, SL_INST]), t])
            if maint <= 0.0:
                continue
            mr_block = _ratio_max_nb(mr_block, maint, eq_mark)
            if eq_mark >= maint and worst_eq >= maint:
                continue
            # liquidate every position of the venue (perps: cross margin only; an isolated
            # venue's perps were checked one by one above)
            n_liq += 1
            for i in range(n_inst):
                if inst_venue[i] != v or pos[i] == 0.0 or (isolated and inst_kind[i] != E.SPOT):
                    continue
                um = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], mark[i, t])
                n_bl, n_lq = _liquidate_nb(
                    c, t, i, v, cash, pos, entry, inst_kind, inst_cs, cash[v],
                    eq_mark - um - cash[v], maint, tier_floor[v], tier_cap[v], tier_mmr[v],
                    tier_amt[v], mark[i, t], open_[i, t], low[i, t], high[i, t], close[i, t],
                    vparams[c, v, E.V_LIQ_FEE], eq_mark, d_fee, d_perp,
                    bl_i, bl_f, n_bl, lq_i, lq_f, n_lq,
                )  # fmt: skip
                n_trades += 1
            for k in range(MAX_SLOTS):
                if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                    cash[v] += slots[k, SL_VALUE]  # closed at model value
                    slot_epoch += 1  # the option book may change
                    n_rl = _close_slot_nb(
                        slots,
                        k,
                        E.EV_LIQUIDATED,
                        t,
                        index[int(slots[k, SL_INST]), t],
                        c,
                        rl_i,
                        rl_f,
                        n_rl,
                    )
                    n_open_slots -= 1
            next_exp = next_expiry_nb(slots)
            dbuf_len = 0
            for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                if orders[k, O_ACTIVE] != 0.0 and inst_venue[int(orders[k, O_INST])] == v:
                    orders[k, O_ACTIVE] = 0.0
                    n_live -= 1
            if vparams[c, v, E.V_ON_LIQ] == 0.0 and failed_bar < 0:
                failed_bar = t

        # ---- 6. flows, equity and the accounting identity --------------------------------
        fx_usd = 0.0
        for v in range(n_ven):
            fx = 1.0 if venue_fx_inst[v] < 0 else index[venue_fx_inst[v], t]
            fx_now[v] = fx
            if d_opt[v] == 0.0 and d_fund[v] == 0.0 and d_fee[v] == 0.0 and d_slip[v] == 0.0:
                # most bars: price moves only (the same sums as below, without the zeros)
                dp = d_perp[v] * fx
                r_flow[0] += dp
                e_flow += dp
                d_perp[v] = 0.0
                continue
            r_flow[0] += d_perp[v] * fx
            r_flow[1] += d_opt[v] * fx
            r_flow[2] += d_fund[v] * fx
            r_flow[3] += d_fee[v] * fx
            r_flow[4] += d_slip[v] * fx
            e_flow += (d_perp[v] + d_opt[v] + d_fund[v] - d_fee[v] - d_slip[v]) * fx
            d_perp[v] = 0.0
            d_opt[v] = 0.0
            d_fund[v] = 0.0
            d_fee[v] = 0.0
            d_slip[v] = 0.0
        last = t == n_bars - 1 or failed_bar >= 0
        until_rec -= 1
        rec_point = last or until_rec == 0
        if until_rec == 0:
            until_rec = stride
        if value_each_bar or rec_point:
            if not value_each_bar:
                for v in range(n_ven):
                    d_opt[v] = 0.0  # already booked above
                slot_epoch += 1  # the option book may change
                revalue_slots_call_nb(
                    slots, t, t_ns, index, log_index, iv, smile, inst_und, d_opt, True
                )
                # the revaluation's P&L joins this step's flows (USD venues only here)
                for v in range(n_ven):
                    r_flow[1] += d_opt[v]
                    e_flow += d_opt[v]
                    d_opt[v] = 0.0
            equity = 0.0
            opt_val = 0.0
            for v in range(n_ven):
                e_v = cash[v]
                for i in range(n_inst):
                    if inst_venue[i] == v and pos[i] != 0.0:
                        e_v += unrealized_nb(
                            inst_kind[i], inst_cs[i], pos[i], entry[i], close[i, t]
                        )
                for k in range(MAX_SLOTS):
                    if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                        e_v += slots[k, SL_VALUE]
                        opt_val += slots[k, SL_VALUE] * fx_now[v]
                # revaluation of coin balances held since the previous equity point
                fx_usd += ven_eq[v] * (fx_now[v] - ven_fx[v])
                ven_eq[v] = e_v
                ven_fx[v] = fx_now[v]
                equity += e_v * fx_now[v]
            r_flow[5] += fx_usd
            resid = equity - equity_prev - e_flow - fx_usd
            if abs(resid) > max_resid:
                max_resid = abs(resid)
            equity_prev = equity
            e_flow = 0.0
            if rec_point:
                for j in range(6):
                    tot[j] += r_flow[j]
                if record:
                    col = t // stride
                    od = 0.0
                    for k in range(MAX_SLOTS):
                        if slots[k, SL_ACTIVE] != 0.0:
                            od += slots[k, SL_DELTA]
                    hpos = pos[hedge_inst] if hedge_inst >= 0 else 0.0
                    net = od
                    if hedge_inst >= 0:
                        net += _inst_delta(
                            inst_kind[hedge_inst], inst_cs[hedge_inst], hpos, close[hedge_inst, t]
                        )
                    row = steps[c]
                    row[E.S_EQUITY, col] = equity
                    row[E.S_PERP_PNL, col] = r_flow[0]
                    row[E.S_OPT_PNL, col] = r_flow[1]
                    row[E.S_FUNDING, col] = r_flow[2]
                    row[E.S_FEES, col] = r_flow[3]
                    row[E.S_SLIPPAGE, col] = r_flow[4]
                    row[E.S_FX, col] = r_flow[5]
                    row[E.S_RESIDUAL, col] = resid
                    row[E.S_NET_DELTA, col] = net
                    row[E.S_HEDGE_POS, col] = hpos
                    row[E.S_OPT_VALUE, col] = opt_val
                    row[E.S_MARGIN_RATIO, col] = mr_block
                    row[E.S_OPT_DELTA, col] = od
                    row[E.S_IV, col] = vol_t
                for j in range(6):
                    r_flow[j] = 0.0
                if mr_block > max_mr:
                    max_mr = mr_block
                mr_block = 0.0
        bars_run = t + 1
        if failed_bar >= 0:
            break

    # after a failed (stopped) run the record stays flat: nothing is held any more
    if record and bars_run < n_bars:
        row = steps[c]
        first = (bars_run - 1) // stride + 1
        for col in range(first, row.shape[1]):
            for j in range(row.shape[0]):
                row[j, col] = 0.0
            row[E.S_EQUITY, col] = equity_prev
            tt = min(col * stride + stride - 1, n_bars - 1)
            row[E.S_IV, col] = iv[und, tt] if opt_inst >= 0 else 0.0

    tr = totals[c]
    tr[E.T_PERP_PNL] = tot[0]
    tr[E.T_OPT_PNL] = tot[1]
    tr[E.T_FUNDING] = tot[2]
    tr[E.T_FEES] = tot[3]
    tr[E.T_SLIPPAGE] = tot[4]
    tr[E.T_FX] = tot[5]
    tr[E.T_N_TRADES] = n_trades
    tr[E.T_N_LIQ] = n_liq
    tr[E.T_FAILED_BAR] = failed_bar
    tr[E.T_MAX_RESID] = max_resid
    tr[E.T_EQUITY0] = equity0
    tr[E.T_EQUITY_END] = equity_prev
    tr[E.T_N_ROLLS] = n_rolls
    tr[E.T_OPT_FEES] = tot[6]
    tr[E.T_BLOTTER_N] = n_bl
    tr[E.T_FUNDING_N] = n_fl
    tr[E.T_ROLL_N] = n_rl
    tr[E.T_LIQ_N] = n_lq
    tr[E.T_BARS_RUN] = bars_run
    tr[E.T_MAX_MARGIN_RATIO] = max_mr
    tr[E.T_N_REJECTED] = n_rejected
    tr[E.T_EVENT_N] = n_ev


@njit(cache=True, error_model="numpy")
def _overlays_nb(
    c, t, t_ns, p, strategy, main_inst, hedge_inst, leg_a, value_each_bar, cash, pos, entry,
    slots, orders, close, mark, index, log_index, iv, smile, inst_und, inst_kind, inst_venue,
    inst_cs, inst_lot, venue_fx_inst, due_bar, tier_floor, tier_cap, tier_mmr, tier_amt,
    vparams, d_fee, d_opt, tot, s_opt, rl_i, rl_f, ev_i, ev_f, vs, vl, tr, vol_state,
    trend_state, leg_until, st, ovs, n_ev, n_rl, n_live, n_open_slots, next_exp, opt_delta,
    dbuf_len,
):  # fmt: skip
    """The risk overlays of one bar (``RiskSpec``), on the state after this bar's fills and
    before the strategy decides: updates the overlay state ``ovs`` (0 halted, 1 resume time,
    2 stop base equity, 3 loss-streak pause end, 4 vol breaker on, 5 trend direction, 6 force
    a re-strike), sends their orders and logs their events. A separate function (not inlined):
    it only runs when an overlay is configured. ``vol_state`` / ``trend_state`` are the
    kernel's window decisions (see the bar loop); ``vs``, ``vl``, ``tr`` their values for the
    event log. The kernel derives the gates (trading, hedging, size) from ``ovs`` afterwards.
    Returns ``(n_ev, n_rl, n_live, n_open_slots, next_exp, opt_delta, dbuf_len)``."""
    n_inst = pos.shape[0]
    n_ven = cash.shape[0]
    m = main_inst
    if p[E.P_VOL_K] > 0.0:
        if vol_state >= 0.0:
            on = vol_state == 1.0
            if on != (ovs[4] != 0.0):
                ovs[4] = 1.0 if on else 0.0
                n_ev = log_event_nb(
                    ev_i, ev_f, n_ev, c, t, E.EV_VOL_PAUSE if on else E.EV_VOL_CALM, m,
                    vs, p[E.P_VOL_K] * vl,
                )  # fmt: skip
    if p[E.P_TREND_THR] > 0.0:
        if trend_state > -2.0:
            d_new = int(trend_state)
            if d_new != ovs[5]:
                ovs[5] = d_new
                n_ev = log_event_nb(
                    ev_i, ev_f, n_ev, c, t, E.EV_TREND_ON if d_new != 0 else E.EV_TREND_OFF,
                    m, tr, d_new,
                )  # fmt: skip
    if ovs[3] > -np.inf and t_ns >= ovs[3]:
        ovs[3] = -np.inf
        n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_STREAK_RESUME, m, 0.0, 0.0)
    if p[E.P_STOP_LOSS] > 0.0:
        if ovs[0] != 0.0 and ovs[1] >= 0.0 and t_ns >= ovs[1]:
            ovs[0] = 0.0
            ovs[1] = -1.0
            if not value_each_bar:
                revalue_slots_call_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und,
                                 d_opt, True)  # fmt: skip
            ovs[2] = _equity_usd_nb(cash, pos, entry, slots, inst_kind, inst_venue,
                                       inst_cs, close, index, venue_fx_inst, t)  # fmt: skip
            n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_RESTART, -1, ovs[2], 0.0)
        breach = ovs[0] == 0.0
        if breach and not value_each_bar:
            # long options only here (value >= 0): without them the equity is a lower
            # bound - value the options only when that bound is below the floor
            lb = _equity_usd_nb(cash, pos, entry, slots, inst_kind, inst_venue, inst_cs,
                                close, index, venue_fx_inst, t, False)  # fmt: skip
            if lb >= ovs[2] * (1.0 - p[E.P_STOP_LOSS]):
                breach = False
            elif n_open_slots > 0:
                revalue_slots_call_nb(slots, t, t_ns, index, log_index, iv, smile, inst_und,
                                 d_opt, True)  # fmt: skip
        if breach:
            eq_now = _equity_usd_nb(cash, pos, entry, slots, inst_kind, inst_venue,
                                    inst_cs, close, index, venue_fx_inst, t)  # fmt: skip
            floor_eq = ovs[2] * (1.0 - p[E.P_STOP_LOSS])
            if eq_now < floor_eq:
                n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_STOP, -1, eq_now, floor_eq)
                # flatten everything: options at model value (fee), perps/spot by market
                for k in range(MAX_SLOTS):
                    if slots[k, SL_ACTIVE] != 0.0:
                        v = int(slots[k, SL_VENUE])
                        fee = _option_fee(p[E.P_OPT_FEE], slots[k], s_opt, slots[k, SL_VALUE])
                        cash[v] += slots[k, SL_VALUE] - fee
                        d_fee[v] += fee
                        tot[6] += fee
                        n_rl = _close_slot_nb(slots, k, E.EV_CLOSE, t, s_opt, c, rl_i, rl_f,
                                              n_rl)  # fmt: skip
                n_open_slots = 0
                next_exp = np.inf
                opt_delta = 0.0
                dbuf_len = 0
                for k in range(MAX_ORDERS):
                    orders[k, O_ACTIVE] = 0.0
                n_live = 0
                for i in range(n_inst):
                    if pos[i] != 0.0:
                        if _add_order(orders, i, -pos[i], E.ORDER_MARKET, 0.0, due_bar[t],
                                      E.R_STOP, t) >= 0:  # fmt: skip
                            n_live += 1
                ovs[0] = 1.0
                if p[E.P_STOP_COOL_NS] > 0.0:
                    ovs[1] = t_ns + p[E.P_STOP_COOL_NS]
    if p[E.P_LEG_STOP] > 0.0 and ovs[0] == 0.0:
        for i in range(n_inst):
            if pos[i] == 0.0 or t_ns < leg_until[i]:
                continue
            u = unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], close[i, t])
            basis = abs(pos[i]) * inst_cs[i]
            basis = basis / entry[i] if inst_kind[i] == E.PERP_INVERSE else basis * entry[i]
            if u < -p[E.P_LEG_STOP] * basis:
                for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                    if orders[k, O_ACTIVE] != 0.0 and orders[k, O_INST] == i:
                        orders[k, O_ACTIVE] = 0.0
                        n_live -= 1
                if _add_order(orders, i, -pos[i], E.ORDER_MARKET, 0.0, due_bar[t],
                              E.R_LEG_STOP, t) >= 0:  # fmt: skip
                    n_live += 1
                leg_until[i] = t_ns + p[E.P_LEG_COOL_NS]
                n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_LEG_STOP, i, u,
                                    -p[E.P_LEG_STOP] * basis)  # fmt: skip
    if p[E.P_MARGIN_BUF] > 0.0 and ovs[0] == 0.0:
        for i in range(n_inst):
            if pos[i] == 0.0 or inst_kind[i] == E.SPOT:
                continue
            busy = False
            for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                if (orders[k, O_ACTIVE] != 0.0 and orders[k, O_INST] == i
                        and orders[k, O_REASON] == E.R_MARGIN):  # fmt: skip
                    busy = True
            if busy:
                continue
            v = inst_venue[i]
            lp = _position_liq_price_nb(
                i, v, cash, pos, entry, slots, inst_kind, inst_venue, inst_cs, mark, index,
                t, tier_floor[v], tier_cap[v], tier_mmr[v], tier_amt[v],
                vparams[c, v, E.V_ISOLATED] != 0.0, vparams[c, v, E.V_LEVERAGE],
            )  # fmt: skip
            if not lp > 0.0:
                continue
            dist = abs(mark[i, t] - lp) / mark[i, t]
            if dist >= p[E.P_MARGIN_BUF]:
                continue
            moved = 0.0
            if (p[E.P_MARGIN_ACT] == 1.0 and venue_fx_inst[v] < 0
                    and vparams[c, v, E.V_ISOLATED] == 0.0):  # fmt: skip
                need = (2.0 * p[E.P_MARGIN_BUF] - dist) * mark[i, t] * abs(pos[i]) * inst_cs[i]
                best = -1
                best_free = 0.0
                for w in range(n_ven):
                    if w == v or venue_fx_inst[w] >= 0:
                        continue
                    fr = _free_collateral_nb(w, cash, pos, entry, slots, inst_kind,
                                             inst_venue, inst_cs, mark, index, t,
                                             vparams[c, w, E.V_LEVERAGE])  # fmt: skip
                    if fr > best_free:
                        best_free = fr
                        best = w
                if best >= 0:
                    moved = min(need, 0.5 * best_free)
                    cash[best] -= moved
                    cash[v] += moved
                    n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_MARGIN_TRANSFER, i,
                                        moved, dist)  # fmt: skip
            if moved == 0.0:
                q = -round_to_nb(pos[i] * p[E.P_MARGIN_FRAC], inst_lot[i])
                if q != 0.0 and _add_order(orders, i, q, E.ORDER_MARKET, 0.0, due_bar[t],
                                           E.R_MARGIN, t) >= 0:  # fmt: skip
                    n_live += 1
                    n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_MARGIN_REDUCE, i,
                                        dist, p[E.P_MARGIN_BUF])  # fmt: skip
    if p[E.P_INV_RESET] > 0.0 and ovs[0] == 0.0:
        if strategy == E.STRAT_STRADDLE and hedge_inst >= 0 and n_open_slots > 0:
            hd = _inst_delta(inst_kind[hedge_inst], inst_cs[hedge_inst], pos[hedge_inst],
                             close[hedge_inst, t])  # fmt: skip
            if abs(hd) >= p[E.P_INV_RESET]:
                ovs[6] = 1.0  # re-strike at the money: the hedge unwinds with it
                n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_INV_RESET, hedge_inst,
                                    hd, p[E.P_INV_RESET])  # fmt: skip
        elif strategy == E.STRAT_SCALP and pos[leg_a] != 0.0:
            hd = coin_delta_nb(inst_kind[leg_a], inst_cs[leg_a], pos[leg_a], close[leg_a, t])
            if abs(hd) >= p[E.P_INV_RESET] and inflight_nb(orders, leg_a) == 0.0:
                for k in range(int(orders[MAX_ORDERS, O_LIMIT]) if n_live > 0 else 0):
                    if orders[k, O_ACTIVE] != 0.0 and orders[k, O_INST] == leg_a:
                        orders[k, O_ACTIVE] = 0.0
                        n_live -= 1
                st[6] = -1.0
                st[7] = -1.0
                if _add_order(orders, leg_a, -pos[leg_a], E.ORDER_MARKET, 0.0, due_bar[t],
                              E.R_INV_RESET, t) >= 0:  # fmt: skip
                    n_live += 1
                n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_INV_RESET, leg_a, hd,
                                    p[E.P_INV_RESET])  # fmt: skip
    return n_ev, n_rl, n_live, n_open_slots, next_exp, opt_delta, dbuf_len


@njit(cache=True, error_model="numpy")
def _python_hook_nb(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf):
    """The kernel's step into object mode, kept in its own small function: the kernel itself
    stays a plain nopython function (no lifted with-block inside its bar loop)."""
    with objmode(n_py="int64"):
        n_py = _python_decide(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf)
    return n_py


def _python_decide(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf):
    """Object-mode bridge of the kernel to the active Python strategy (see
    :mod:`gammaperp.strategies.protocol`): returns how many orders it wrote into ``py_buf``."""
    from gammaperp.strategies.protocol import dispatch

    return dispatch(c, t, opt_delta, cash, pos, entry, slots, orders, py_buf)


@njit(cache=True, error_model="numpy")
def _net_delta_at_nb(slots, t_ns, s, ratio, iv, smile, inst_und, t, kind, cs, hpos):
    """Net delta (coin) of the options plus the hedge if the hedge instrument traded at ``s``
    (the options' index moving in proportion: index = ``ratio`` x ``s``)."""
    d = _inst_delta(kind, cs, hpos, s)
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] == 0.0:
            continue
        u = inst_und[int(slots[k, SL_INST])]
        si = ratio * s
        _, dk = slot_eval_nb(slots, k, t_ns, si, math.log(si), iv[u, t], smile[u, 0],
                             smile[u, 1], False)  # fmt: skip
        d += dk
    return d


@njit(cache=True, error_model="numpy")
def _intrabar_hedge_nb(
    c, t, t_ns, h, v, slots, cash, pos, entry, inst_kind, inst_cs, inst_lot, close, open_, high,
    low, spread, sigma_bar, volume, ratio, iv, smile, inst_und, p, fee_rate, lev, inst_venue,
    band, mult, d_fee, d_slip, d_perp, bl_i, bl_f, n_bl, opt_delta,
):  # fmt: skip
    """Delta-band hedging inside bar ``t`` along previous close -> open -> first extreme ->
    second extreme -> close (an up bar visits its low first). A band crossing fills at the
    crossing price (regula falsi with the Illinois step, to a relative 1e-14); a gap - the open
    already beyond the band - fills at the open. Returns ``(blotter count, fills, rejected,
    last fill price)``."""
    kind = inst_kind[h]
    cs = inst_cs[h]
    up = close[h, t] >= open_[h, t]
    pts = (
        close[h, t - 1],
        open_[h, t],
        low[h, t] if up else high[h, t],
        high[h, t] if up else low[h, t],
        close[h, t],
    )
    n_fill = 0
    n_rej = 0
    last_px = math.nan
    for j in range(4):
        a = pts[j]
        b = pts[j + 1]
        if a == b:
            continue
        for _ in range(8):  # a few crossings per segment at most
            nb = _net_delta_at_nb(slots, t_ns, b, ratio, iv, smile, inst_und, t, kind, cs, pos[h])
            if abs(nb) <= band:
                break
            if j == 0:
                x = b  # a gap: the first price traded beyond the band is the open
            else:
                # the crossing, bracketed by lo (|net| <= band) and hi (beyond): regula falsi
                # with the Illinois step (a few valuations where bisection takes ~50), down
                # to a relative width of 1e-14; the fill is at hi, the first price beyond
                lo = a
                hi = b
                f_lo = abs(_net_delta_at_nb(slots, t_ns, lo, ratio, iv, smile, inst_und, t,
                                            kind, cs, pos[h])) - band  # fmt: skip
                f_hi = abs(nb) - band
                last = 0
                for _ in range(100):
                    if abs(hi - lo) <= 1e-14 * abs(hi):
                        break
                    mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
                    if not (min(lo, hi) < mid < max(lo, hi)):
                        mid = 0.5 * (lo + hi)
                        if mid == lo or mid == hi:
                            break
                    f_m = abs(_net_delta_at_nb(slots, t_ns, mid, ratio, iv, smile, inst_und, t,
                                               kind, cs, pos[h])) - band  # fmt: skip
                    if f_m > 0.0:
                        hi = mid
                        f_hi = f_m
                        if last == 1:
                            f_lo *= 0.5
                        last = 1
                    else:
                        lo = mid
                        f_lo = f_m
                        if last == -1:
                            f_hi *= 0.5
                        last = -1
                x = hi
            net = _net_delta_at_nb(slots, t_ns, x, ratio, iv, smile, inst_und, t, kind, cs, pos[h])
            want = -net
            if p[E.P_TARGET] == E.TARGET_EDGE:
                want = -(net - band) if net > 0.0 else -(net + band)
            q = round_to_nb(_delta_to_qty(kind, cs, want * mult, x), inst_lot[h])
            if q == 0.0:
                break
            if not initial_margin_ok_nb(cash, pos, entry, slots, v, h, q, inst_kind, inst_venue,
                                        inst_cs, close, t, lev):  # fmt: skip
                n_rej += 1
                break
            px, fee, scost = _market_fill_nb(cash, pos, entry, h, v, kind, cs, q, x,
                                             spread[h, t], sigma_bar[h, t], volume[h, t], p,
                                             fee_rate)  # fmt: skip
            d_fee[v] += fee
            d_slip[v] += scost
            d_perp[v] += price_move_pnl_nb(kind, cs, q, x, close[h, t])
            n_bl = _log_fill(bl_i, bl_f, n_bl, c, t, h, q, px, x, fee, scost, E.R_HEDGE,
                             E.ORDER_MARKET, t, 0.0, 0.0)  # fmt: skip
            n_fill += 1
            last_px = x
            a = x
    return n_bl, n_fill, n_rej, last_px


@njit(cache=True, error_model="numpy")
def _entry_nb(p, s, vol, skew, curv):
    """Strikes and size of a new straddle/strangle: by moneyness or by delta at entry, and by
    quantity or by premium budget (USD). Returns ``(call strike, put strike, straddles)``."""
    tau = p[E.P_EXPIRY_NS] * YEARS_PER_NS
    model = int(p[E.P_MODEL])
    kc = s * p[E.P_CALL_MONEYNESS]
    kp = s * p[E.P_PUT_MONEYNESS]
    if p[E.P_CALL_DELTA] > 0.0:
        kc = strike_for_delta_nb(model, s, tau, vol, skew, curv, p[E.P_RATE], p[E.P_CARRY],
                                 p[E.P_CALL_DELTA], True)  # fmt: skip
    if p[E.P_PUT_DELTA] > 0.0:
        kp = strike_for_delta_nb(model, s, tau, vol, skew, curv, p[E.P_RATE], p[E.P_CARRY],
                                 p[E.P_PUT_DELTA], False)  # fmt: skip
    kc = round_to_nb(kc, p[E.P_STRIKE_STEP])
    kp = round_to_nb(kp, p[E.P_STRIKE_STEP])
    q = p[E.P_QTY]
    if p[E.P_BUDGET] > 0.0:
        lc = math.log(s / kc)
        lp = math.log(s / kp)
        call, _ = _opt_core_nb(model, s, kc, lc, tau, smile_vol_nb(vol, skew, curv, -lc),
                               p[E.P_RATE], p[E.P_CARRY], 1.0, 0.0, True)  # fmt: skip
        put, _ = _opt_core_nb(model, s, kp, lp, tau, smile_vol_nb(vol, skew, curv, -lp),
                              p[E.P_RATE], p[E.P_CARRY], 0.0, 1.0, True)  # fmt: skip
        unit = call + put  # USD premium of one call plus one put
        if unit > 0.0:
            q = p[E.P_BUDGET] / unit
    return kc, kp, q


@njit(cache=True, error_model="numpy")
def _equity_usd_nb(cash, pos, entry, slots, inst_kind, inst_venue, inst_cs, close, index,
                   venue_fx_inst, t, with_options=True):  # fmt: skip
    """Total equity in USD at the bar's close (options at their last valuation, or left out
    with ``with_options`` False)."""
    eq = 0.0
    for v in range(cash.shape[0]):
        e_v = cash[v]
        for i in range(pos.shape[0]):
            if inst_venue[i] == v and pos[i] != 0.0:
                e_v += unrealized_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], close[i, t])
        for k in range(MAX_SLOTS if with_options else 0):
            if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                e_v += slots[k, SL_VALUE]
        eq += e_v * (1.0 if venue_fx_inst[v] < 0 else index[venue_fx_inst[v], t])
    return eq


@njit(cache=True, error_model="numpy")
def _maint_of_nb(i, kind, cs, pos_i, mark_i, t_floor, t_cap, t_mmr, t_amt):
    if kind == E.SPOT or pos_i == 0.0:
        return 0.0
    n = abs(pos_i) * cs
    n = n / mark_i if kind == E.PERP_INVERSE else n * mark_i
    return maint_margin_nb(n, t_floor, t_cap, t_mmr, t_amt)


@njit(cache=True, error_model="numpy")
def _position_liq_price_nb(i, v, cash, pos, entry, slots, inst_kind, inst_venue, inst_cs, mark,
                           index, t, t_floor, t_cap, t_mmr, t_amt, isolated, leverage):  # fmt: skip
    """Exchange-formula liquidation price of position ``i`` (everything else held fixed)."""
    if isolated:
        wallet = isolated_margin_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], leverage)
        other = 0.0
        maint = _maint_of_nb(i, inst_kind[i], inst_cs[i], pos[i], mark[i, t], t_floor, t_cap,
                             t_mmr, t_amt)  # fmt: skip
    else:
        wallet = cash[v]
        other = 0.0
        maint = 0.0
        for j in range(pos.shape[0]):
            if inst_venue[j] != v or pos[j] == 0.0:
                continue
            maint += _maint_of_nb(j, inst_kind[j], inst_cs[j], pos[j], mark[j, t], t_floor,
                                  t_cap, t_mmr, t_amt)  # fmt: skip
            if j != i:
                other += unrealized_nb(inst_kind[j], inst_cs[j], pos[j], entry[j], mark[j, t])
        for k in range(MAX_SLOTS):
            if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == v:
                other += slots[k, SL_VALUE]
                maint += _short_option_maint(slots[k], index[int(slots[k, SL_INST]), t])
    return _liq_formula_nb(inst_kind[i], inst_cs[i], pos[i], entry[i], wallet, other, maint,
                           t_floor, t_cap, t_mmr, t_amt, mark[i, t])  # fmt: skip


@njit(cache=True, error_model="numpy")
def _free_collateral_nb(w, cash, pos, entry, slots, inst_kind, inst_venue, inst_cs, mark, index,
                        t, leverage):  # fmt: skip
    """Equity of venue ``w`` at mark beyond its perps' initial margin and its short options'
    margin: what a margin transfer may take from it."""
    free = cash[w]
    for j in range(pos.shape[0]):
        if inst_venue[j] != w or pos[j] == 0.0:
            continue
        free += unrealized_nb(inst_kind[j], inst_cs[j], pos[j], entry[j], mark[j, t])
        if inst_kind[j] == E.PERP_LINEAR:
            free -= abs(pos[j]) * inst_cs[j] * mark[j, t] / leverage
        elif inst_kind[j] == E.PERP_INVERSE:
            free -= abs(pos[j]) * inst_cs[j] / mark[j, t] / leverage
    for k in range(MAX_SLOTS):
        if slots[k, SL_ACTIVE] != 0.0 and int(slots[k, SL_VENUE]) == w:
            free += slots[k, SL_VALUE] - _short_option_maint(
                slots[k], index[int(slots[k, SL_INST]), t]
            )
    return free


@njit(cache=True, error_model="numpy")
def _cap_nb(orders, i, q, p, pos, inst_kind, inst_venue, inst_cs, inst_lot, close, t, ev_i, ev_f,
            n_ev, c):  # fmt: skip
    """Clip a strategy order to the position / venue-notional caps; logs a clip as an event."""
    v = inst_venue[i]
    vn = 0.0
    if p[E.P_MAX_NOTIONAL] > 0.0:
        for j in range(pos.shape[0]):
            if inst_venue[j] != v:
                continue
            unit = inst_cs[j] if inst_kind[j] == E.PERP_INVERSE else inst_cs[j] * close[j, t]
            vn += abs(pos[j] + inflight_nb(orders, j)) * unit
    q2 = cap_qty_nb(q, i, inst_kind[i], inst_cs[i], inst_lot[i], close[i, t], pos[i],
                    inflight_nb(orders, i), p[E.P_MAX_POS], vn, p[E.P_MAX_NOTIONAL])  # fmt: skip
    if q2 != q:
        n_ev = log_event_nb(ev_i, ev_f, n_ev, c, t, E.EV_CAP, i, q, q2)
    return q2, n_ev


@njit(cache=True, error_model="numpy")
def _closing_pnl_nb(kind, cs, pos_before, entry_before, q, px):
    """P&L realised by the part of a fill that closes a position (NaN: nothing closed)."""
    if pos_before == 0.0 or pos_before * q > 0.0:
        return math.nan
    qc = min(abs(q), abs(pos_before)) * (1.0 if pos_before > 0.0 else -1.0)
    return price_move_pnl_nb(kind, cs, qc, entry_before, px)


@njit(cache=True, error_model="numpy")
def _streak_nb(rs, pnl, fee, n_streak):
    """Loss-streak counter over closing fills (P&L net of the fill's fee); True when the
    streak reaches ``n_streak`` (the counter restarts)."""
    if pnl != pnl:
        return False
    if pnl - fee < 0.0:
        rs[0] += 1.0
    else:
        rs[0] = 0.0
    if rs[0] >= n_streak:
        rs[0] = 0.0
        return True
    return False


# coin delta of contracts and contracts for a coin delta: one implementation, shared with the
# templates (gammaperp.engine._templates_nb)
_inst_delta = coin_delta_nb
_delta_to_qty = contracts_nb


@njit(cache=True, error_model="numpy")
def _option_fee(rate, slot, s, value):
    """Option trade fee: rate x underlying notional, capped at 12.5 % of the premium
    (Deribit's rule), in the slot's settlement currency."""
    if rate <= 0.0:
        return 0.0
    n = abs(slot[SL_CALL_QTY]) + abs(slot[SL_PUT_QTY])
    fee = rate * n * (1.0 if slot[SL_SETTLE] == 1.0 else s)
    cap = 0.125 * abs(value)
    return fee if fee < cap else cap


@njit(cache=True, error_model="numpy")
def _short_option_maint(slot, s):
    """Maintenance margin of the short legs of a slot, in the slot's venue currency.

    Deribit-style: per short option 0.075 x underlying plus its mark value (long options carry
    no margin: their premium was paid in full). Mixed-sign slots use the slot's net liability.
    """
    short = 0.0
    if slot[SL_CALL_QTY] < 0.0:
        short -= slot[SL_CALL_QTY]
    if slot[SL_PUT_QTY] < 0.0:
        short -= slot[SL_PUT_QTY]
    if short == 0.0:
        return 0.0
    base = 0.075 * short if slot[SL_SETTLE] == 1.0 else 0.075 * short * s
    liability = -slot[SL_VALUE] if slot[SL_VALUE] < 0.0 else 0.0
    return base + liability


@njit(cache=True, error_model="numpy")
def _open_slot(
    slots,
    k,
    venue,
    inst,
    strike,
    t_ns,
    call_qty,
    put_qty,
    p,
    s,
    log_s,
    vol,
    skew,
    curv,
    cash,
    d_fee,
    t,
    c,
    rl_i,
    rl_f,
    n_rl,
):
    """Buy (or sell) options into slot ``k`` at model value; pays premium and fee from cash.
    Returns the roll-log count and the fee paid."""
    slots[k, SL_ACTIVE] = 1.0
    slots[k, SL_VENUE] = venue
    slots[k, SL_INST] = inst
    slots[k, SL_STRIKE] = strike
    slots[k, SL_LOGK] = math.log(strike)
    slots[k, SL_EXPIRY_NS] = t_ns + p[E.P_EXPIRY_NS]
    slots[k, SL_CALL_QTY] = call_qty
    slots[k, SL_PUT_QTY] = put_qty
    slots[k, SL_SETTLE] = p[E.P_OPT_SETTLE]
    slots[k, SL_MODEL] = p[E.P_MODEL]
    slots[k, SL_RATE] = p[E.P_RATE]
    slots[k, SL_CARRY] = p[E.P_CARRY]
    slots[k, SL_OPEN_BAR] = t
    slots[k, SL_LELAND] = p[E.P_LELAND_C] * (1.0 if call_qty + put_qty > 0.0 else -1.0)
    val, dlt = slot_eval_nb(slots, k, t_ns, s, log_s, vol, skew, curv, True)
    slots[k, SL_VALUE] = val
    slots[k, SL_DELTA] = dlt
    fee = _option_fee(p[E.P_OPT_FEE], slots[k], s, val)
    cash[venue] -= val + fee
    d_fee[venue] += fee
    n_rl = _log_roll(rl_i, rl_f, n_rl, c, t, E.EV_OPEN, slots[k], s, -val)
    return n_rl, fee


@njit(cache=True, error_model="numpy")
def _liq_price(
    kind,
    cs,
    pos,
    entry,
    wallet,
    other_upnl,
    maint_total,
    t_floor,
    t_cap,
    t_mmr,
    t_amt,
    mark,
    open_,
    low,
    high,
):
    """Price at which a breached position is liquidated inside the bar.

    The exchanges' published liquidation-price formula (Binance one-way, cross form: everything
    else on the venue - other unrealised P&L, option value, other maintenance - held fixed; see
    :mod:`gammaperp.engine.margin`). If the bar opened beyond that price the fill is at the open
    (a gap); the result is kept inside [low, high] of the bar.
    """
    lp = _liq_formula_nb(kind, cs, pos, entry, wallet, other_upnl, maint_total, t_floor, t_cap,
                         t_mmr, t_amt, mark)  # fmt: skip
    if not (lp > 0.0) or lp != lp or lp == np.inf:
        lp = mark
    if pos > 0.0:
        lp = min(lp, open_)
    else:
        lp = max(lp, open_)
    return min(max(lp, low), high)


@njit(cache=True, error_model="numpy")
def _liq_formula_nb(kind, cs, pos, entry, wallet, other_upnl, maint_total, t_floor, t_cap, t_mmr,
                    t_amt, mark):  # fmt: skip
    """The published liquidation-price formula of one position (cross form), maintenance of
    the position itself evaluated at ``mark``'s tier; spot: ``mark`` (never liquidated)."""
    size = abs(pos)
    sd = 1.0 if pos > 0.0 else -1.0
    if kind == E.PERP_INVERSE:
        own = maint_margin_nb(size * cs / mark, t_floor, t_cap, t_mmr, t_amt)
        lp = liquidation_price_inverse_nb(
            sd,
            size * cs,
            entry,
            wallet,
            maint_total - own,
            other_upnl,
            t_floor,
            t_cap,
            t_mmr,
            t_amt,
        )
    elif kind == E.PERP_LINEAR:
        own = maint_margin_nb(size * cs * mark, t_floor, t_cap, t_mmr, t_amt)
        lp = liquidation_price_linear_nb(
            sd,
            size * cs,
            entry,
            wallet,
            maint_total - own,
            other_upnl,
            t_floor,
            t_cap,
            t_mmr,
            t_amt,
        )
    else:
        lp = mark
    return lp
