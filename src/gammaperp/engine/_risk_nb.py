"""Compiled helpers of the risk overlays (caps, the overlay event log). The kernel owns
the overlay state; see ``RiskSpec`` for the rules. The rolling windows of the vol breaker and
the trend filter depend on market data only: :func:`overlay_windows_nb` computes their states
for a block of bars ahead, so the bar loop reads two numbers per bar.

Overlay state ``rs`` (float array, one per configuration run):

====  =====================================================================
rs    meaning
====  =====================================================================
0     losing closing fills in a row (loss-streak pause)
====  =====================================================================
"""

from __future__ import annotations

import math

from numba import njit

from gammaperp.engine import enums as E

N_RSTATE = 1


@njit(cache=True, error_model="numpy")
def log_event_nb(ev_i, ev_f, n, c, t, code, inst, value, ref):
    if n < ev_i.shape[1]:
        ev_i[c, n, 0] = t
        ev_i[c, n, 1] = code
        ev_i[c, n, 2] = inst
        ev_f[c, n, 0] = value
        ev_f[c, n, 1] = ref
    return n + 1


# rows of the window block buffer
W_VOL = 0  # vol breaker: 1 (short-window vol above k x the long one), 0 (not), -1 (not full)
W_TREND = 1  # trend filter: +1 / -1 (fast SMA above / below (1 +- thr) x slow), 0, -2 (not full)
W_VS = 2  # vol breaker: sum of squared log returns over the short window (for the event log)
W_VL = 3  # ... over the long window
W_TS = 4  # trend filter: sum of closes over the fast window
W_TL = 5  # ... over the slow window
N_W = 6


@njit(cache=True, error_model="numpy")
def overlay_windows_nb(wbuf, t0, n, close, m, vol_k, vol_short, vol_long, trend_thr, trend_fast,
                       trend_slow, ring_v, ring_t, ws):  # fmt: skip
    """States of the vol breaker and trend filter windows for bars ``t0 .. t0 + n - 1`` of
    instrument ``m`` into ``wbuf[:, :n]`` (rows ``W_*``). The vol breaker's window holds squared
    log returns (``vol_long`` of them; ``vol_short`` the short window), the trend filter's the
    closes (``trend_slow``; ``trend_fast``). Both use running sums, re-done once per window (no
    drift); their state between blocks is ``ws`` = (values seen, ring position, long sum, short
    sum) per window. The vol state is compared as mean squares (short > k^2 x long) and the
    trend as sums (fast > (1 + thr) x slow), so no root or ratio is needed per bar; the sums
    (``W_VS``..``W_TL``) give the values of the event log (:func:`window_values_nb`). A window
    that is off or not full: -1 / -2."""
    vn, vj, vsum_l, vsum_s = int(ws[0]), int(ws[1]), ws[2], ws[3]
    tn, tj, tsum_l, tsum_s = int(ws[4]), int(ws[5]), ws[6], ws[7]
    inv_vs = 1.0 / vol_short if vol_short > 0 else 0.0
    inv_vl = 1.0 / vol_long
    inv_tf = 1.0 / trend_fast if trend_fast > 0 else 0.0
    inv_ts = 1.0 / trend_slow
    k2 = vol_k * vol_k
    hi = 1.0 + trend_thr
    lo = 1.0 - trend_thr
    for jb in range(n):
        t = t0 + jb
        wbuf[W_VOL, jb] = -1.0
        wbuf[W_TREND, jb] = -2.0
        if vol_k > 0.0 and t > 0:
            r = math.log(close[m, t] / close[m, t - 1])
            x = r * r
            if vn >= vol_long:
                vsum_l -= ring_v[vj]
            if vn >= vol_short:
                js = vj - vol_short  # (vn - vol_short) % vol_long, as vol_short < vol_long
                vsum_s -= ring_v[js + vol_long if js < 0 else js]
            ring_v[vj] = x
            vsum_l += x
            vsum_s += x
            vn += 1
            vj += 1
            if vj == vol_long:  # a full turn: re-sum both windows
                vj = 0
                vsum_l = 0.0
                for k in range(vol_long):
                    vsum_l += ring_v[k]
                vsum_s = 0.0
                for k in range(vol_short):
                    vsum_s += ring_v[(vn - 1 - k) % vol_long]
            if vn >= vol_long:
                ms_s = max(vsum_s * inv_vs, 0.0)
                ms_l = max(vsum_l * inv_vl, 0.0)
                wbuf[W_VOL, jb] = 1.0 if ms_s > k2 * ms_l else 0.0
                wbuf[W_VS, jb] = vsum_s
                wbuf[W_VL, jb] = vsum_l
        if trend_thr > 0.0:
            x = close[m, t]
            if tn >= trend_slow:
                tsum_l -= ring_t[tj]
            if tn >= trend_fast:
                js = tj - trend_fast
                tsum_s -= ring_t[js + trend_slow if js < 0 else js]
            ring_t[tj] = x
            tsum_l += x
            tsum_s += x
            tn += 1
            tj += 1
            if tj == trend_slow:
                tj = 0
                tsum_l = 0.0
                for k in range(trend_slow):
                    tsum_l += ring_t[k]
                tsum_s = 0.0
                for k in range(trend_fast):
                    tsum_s += ring_t[(tn - 1 - k) % trend_slow]
            if tn >= trend_slow:
                fast = tsum_s * inv_tf
                slow = tsum_l * inv_ts
                d = 0.0
                if fast > hi * slow:
                    d = 1.0
                elif fast < lo * slow:
                    d = -1.0
                wbuf[W_TREND, jb] = d
                wbuf[W_TS, jb] = tsum_s
                wbuf[W_TL, jb] = tsum_l
    ws[0] = vn
    ws[1] = vj
    ws[2] = vsum_l
    ws[3] = vsum_s
    ws[4] = tn
    ws[5] = tj
    ws[6] = tsum_l
    ws[7] = tsum_s


@njit(cache=True, error_model="numpy")
def window_values_nb(wbuf, jb, vol_short, vol_long, trend_fast, trend_slow):
    """(short-window vol, long-window vol, fast SMA / slow SMA - 1) at block bar ``jb`` for
    the event log; NaN where a window is off or not full."""
    vs = vl = tr = math.nan
    if wbuf[W_VOL, jb] >= 0.0:
        vs = math.sqrt(max(wbuf[W_VS, jb] / vol_short, 0.0))
        vl = math.sqrt(max(wbuf[W_VL, jb] / vol_long, 0.0))
    if wbuf[W_TREND, jb] > -2.0:
        tr = (wbuf[W_TS, jb] / trend_fast) / (wbuf[W_TL, jb] / trend_slow) - 1.0
    return vs, vl, tr


@njit(cache=True, error_model="numpy")
def cap_qty_nb(q, i, kind, cs, lot, price, pos_i, pending, max_pos, venue_notional, max_notional):
    """Clip an order of ``q`` contracts so that |coin position| stays within ``max_pos`` and
    the venue's USD notional within ``max_notional`` (0: no cap). ``pending`` = contracts
    already in flight; ``venue_notional`` = the venue's current |notional| in USD."""
    after = pos_i + pending + q
    if max_pos > 0.0:
        cap_c = max_pos * (price / cs if kind == E.PERP_INVERSE else 1.0 / cs)
        if abs(after) > cap_c:
            lim = cap_c if after > 0.0 else -cap_c
            q = lim - pos_i - pending
            if q * (after - pos_i - pending) < 0.0:  # the cap never flips a trade's side
                q = 0.0
    if max_notional > 0.0 and q != 0.0:
        unit = cs if kind == E.PERP_INVERSE else cs * price  # USD per contract
        base = pos_i + pending
        cur_abs = abs(base) * unit
        new_abs = abs(base + q) * unit
        others = venue_notional - cur_abs  # the venue's other positions
        if new_abs > cur_abs and others + new_abs > max_notional:
            room = max(max_notional - others, cur_abs)  # never forces a reduction
            sgn = 1.0 if base + q > 0.0 else -1.0
            q2 = sgn * room / unit - base
            q = q2 if q2 * q > 0.0 else 0.0
    if lot > 0.0:
        q = math.floor(abs(q) / lot + 1e-9) * lot * (1.0 if q > 0.0 else -1.0)
    return q
