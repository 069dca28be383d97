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

import numpy as np
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
def ring_sums_nb(xs, j0, n, ring, n_short, ws, i0, wbuf, row_s, row_l):
    """Push ``xs[j0:n]`` into ``ring`` (the long window, ``ring.shape[0]`` values; the short
    window: the last ``n_short``) keeping running sums, re-done once per window (no drift).
    After each push ``wbuf[row_s, j]`` / ``wbuf[row_l, j]`` = the short / long window's sum, or
    NaN while the long window is not full. State between calls: ``ws[i0:i0 + 4]`` = values
    seen, ring position, long sum, short sum."""
    w = ring.shape[0]
    cnt = int(ws[i0])
    pos = int(ws[i0 + 1])
    s_l = ws[i0 + 2]
    s_s = ws[i0 + 3]
    for j in range(j0, n):
        x = xs[j]
        if cnt >= w:
            s_l -= ring[pos]
        if cnt >= n_short:
            js = pos - n_short  # (cnt - n_short) % w, as n_short < w
            s_s -= ring[js + w if js < 0 else js]
        ring[pos] = x
        s_l += x
        s_s += x
        cnt += 1
        pos += 1
        if pos == w:  # a full turn: re-sum both windows
            pos = 0
            s_l = 0.0
            for k in range(w):
                s_l += ring[k]
            s_s = 0.0
            for k in range(n_short):
                s_s += ring[(cnt - 1 - k) % w]
        full = cnt >= w
        wbuf[row_s, j] = s_s if full else math.nan
        wbuf[row_l, j] = s_l if full else math.nan
    ws[i0] = cnt
    ws[i0 + 1] = pos
    ws[i0 + 2] = s_l
    ws[i0 + 3] = s_s


@njit(cache=True, error_model="numpy")
def overlay_windows_nb(wbuf, t0, n, close, m, vol_k, vol_short, ring_v, trend_thr, trend_fast,
                       ring_t, ws):  # fmt: skip
    """States of the vol breaker and trend filter windows for bars ``t0 .. t0 + n - 1`` of
    instrument ``m`` into ``wbuf[:, :n]`` (rows ``W_*``). The vol breaker's window holds squared
    log returns (``ring_v.shape[0]`` of them; ``vol_short`` the short window), the trend
    filter's the closes (``ring_t.shape[0]``; ``trend_fast``), as running sums
    (:func:`ring_sums_nb`; ``ws[0:4]`` and ``ws[4:8]`` carry them between blocks). The vol
    state is compared as mean squares (short > k^2 x long) and the trend as means (fast >
    (1 + thr) x slow), so no root or ratio is needed per bar; the sums (``W_VS``..``W_TL``)
    give the values of the event log (:func:`window_values_nb`). A window that is off or not
    full: -1 / -2."""
    xs = np.empty(n)
    for jb in range(n):
        wbuf[W_VOL, jb] = -1.0
        wbuf[W_TREND, jb] = -2.0
    if vol_k > 0.0:
        for jb in range(n):
            t = t0 + jb
            if t > 0:
                r = math.log(close[m, t] / close[m, t - 1])
                xs[jb] = r * r
        # the first bar has no return
        ring_sums_nb(xs, 1 if t0 == 0 else 0, n, ring_v, vol_short, ws, 0, wbuf, W_VS, W_VL)
        inv_s = 1.0 / vol_short
        inv_l = 1.0 / ring_v.shape[0]
        k2 = vol_k * vol_k
        for jb in range(1 if t0 == 0 else 0, n):
            if wbuf[W_VL, jb] == wbuf[W_VL, jb]:
                ms_s = max(wbuf[W_VS, jb] * inv_s, 0.0)
                ms_l = max(wbuf[W_VL, jb] * inv_l, 0.0)
                wbuf[W_VOL, jb] = 1.0 if ms_s > k2 * ms_l else 0.0
    if trend_thr > 0.0:
        for jb in range(n):
            xs[jb] = close[m, t0 + jb]
        ring_sums_nb(xs, 0, n, ring_t, trend_fast, ws, 4, wbuf, W_TS, W_TL)
        inv_f = 1.0 / trend_fast
        inv_s = 1.0 / ring_t.shape[0]
        hi = 1.0 + trend_thr
        lo = 1.0 - trend_thr
        for jb in range(n):
            if wbuf[W_TL, jb] == wbuf[W_TL, jb]:
                fast = wbuf[W_TS, jb] * inv_f
                slow = wbuf[W_TL, jb] * inv_s
                d = 0.0
                if fast > hi * slow:
                    d = 1.0
                elif fast < lo * slow:
                    d = -1.0
                wbuf[W_TREND, jb] = d


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
