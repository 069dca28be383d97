"""Compiled helpers of the risk overlays (caps, the overlay event log). The kernel owns
the overlay state; see ``RiskSpec`` for the rules. The rolling windows of the vol breaker and
the trend filter are written out in the kernel's bar loop (a helper taking the ring arrays
would cost atomic reference counting on every bar).

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
