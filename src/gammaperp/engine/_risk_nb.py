"""Compiled helpers of the risk overlays (rolling volatility and trend state, caps, the
overlay event log). The kernel owns the state arrays; see ``RiskSpec`` for the rules.

Overlay state ``rs`` (float array, one per configuration run):

====  =====================================================================
rs    meaning
====  =====================================================================
0     returns seen by the vol breaker
1     running sum of squared log returns over the long window
2     running sum over the short window
3     vol breaker on (1) / off (0)
4     closes seen by the trend filter
5     running sum of closes, slow window
6     running sum of closes, fast window
7     trend direction (+1 up, -1 down, 0 none)
8     losing closing fills in a row
====  =====================================================================
"""

from __future__ import annotations

import math

from numba import njit

from gammaperp.engine import enums as E

N_RSTATE = 9


@njit(cache=True, error_model="numpy")
def log_event_nb(ev_i, ev_f, n, c, t, code, inst, value, ref):
    if n < ev_i.shape[1]:
        ev_i[c, n, 0] = t
        ev_i[c, n, 1] = code
        ev_i[c, n, 2] = inst
        ev_f[c, n, 0] = value
        ev_f[c, n, 1] = ref
    return n + 1


@njit(cache=True, error_model="numpy")
def ring_push_nb(rs, i0, ring, x, n_short):
    """Push ``x`` into ``ring`` (the long window) keeping ``rs[i0]`` = values seen,
    ``rs[i0 + 1]`` = sum over the long window and ``rs[i0 + 2]`` = sum over the last
    ``n_short``; both sums are re-done once per window (no drift). Returns the count."""
    w = ring.shape[0]
    n = int(rs[i0])
    j = n % w
    if n >= w:
        rs[i0 + 1] -= ring[j]
    if n >= n_short:
        rs[i0 + 2] -= ring[(n - n_short) % w]
    ring[j] = x
    rs[i0 + 1] += x
    rs[i0 + 2] += x
    n += 1
    rs[i0] = n
    if n % w == 0:
        s = 0.0
        for k in range(w):
            s += ring[k]
        rs[i0 + 1] = s
        s = 0.0
        for k in range(n_short):
            s += ring[(n - 1 - k) % w]
        rs[i0 + 2] = s
    return n


@njit(cache=True, error_model="numpy")
def vol_update_nb(rs, ring, r2, n_short):
    """Push one squared log return; returns (short-window vol, long-window vol) per bar, NaN
    until the long window is full."""
    if ring_push_nb(rs, 0, ring, r2, n_short) < ring.shape[0]:
        return math.nan, math.nan
    short = rs[2] / n_short
    long = rs[1] / ring.shape[0]
    return math.sqrt(max(short, 0.0)), math.sqrt(max(long, 0.0))


@njit(cache=True, error_model="numpy")
def trend_update_nb(rs, ring, price, n_fast):
    """Push one close; returns fast SMA / slow SMA - 1 (NaN until the slow window is full)."""
    if ring_push_nb(rs, 4, ring, price, n_fast) < ring.shape[0]:
        return math.nan
    return (rs[6] / n_fast) / (rs[5] / ring.shape[0]) - 1.0


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
