"""Compiled decision rules of the perp templates (carry, pair, scalp) and order helpers.

Called by the kernel (:func:`gammaperp.engine._nb.run_config_nb`) in its "strategy decides"
step, once per bar; they only read market arrays and the configuration's state and add orders
to its order book. Template state lives in a small float array ``st`` owned by the kernel:

====  ==========================================================================
st    meaning
====  ==========================================================================
0     carry: direction (+1 long A / short B, -1 the reverse, 0 flat)
1     pair: returns sampled so far; scalp: closes seen so far (the kernel's moving centre)
2     pair: current beta (NaN until the window is full); scalp: running sum of closes
3     pair: coin quantity of the first leg (0: not entered)
4     scalp: buy armed (1) / disarmed (0)
5     scalp: sell armed
6     scalp: order slot of the resting buy limit (-1: none)
7     scalp: order slot of the resting sell limit
====  ==========================================================================
"""

from __future__ import annotations

import math

from numba import njit

from gammaperp.engine import enums as E

N_TSTATE = 8

# order columns (mirror of gammaperp.engine._nb)
O_ACTIVE = 0
O_INST = 1
O_QTY = 2
O_TYPE = 3
O_LIMIT = 4
O_DUE_BAR = 5
O_REASON = 6
O_DECIDED_BAR = 7


@njit(cache=True, error_model="numpy")
def coin_delta_nb(kind, cs, qty, price):
    """Coin delta of ``qty`` contracts (inverse perps: USD contracts / price)."""
    if kind == E.PERP_INVERSE:
        return qty * cs / price
    return qty * cs


@njit(cache=True, error_model="numpy")
def contracts_nb(kind, cs, delta, price):
    if kind == E.PERP_INVERSE:
        return delta * price / cs
    return delta / cs


@njit(cache=True, error_model="numpy")
def inflight_nb(orders, inst):
    """Signed contracts of the in-flight (market) orders of ``inst``. The order book's last
    row holds the high-water mark of used slots (column ``O_LIMIT``): only those are read."""
    q = 0.0
    for k in range(int(orders[orders.shape[0] - 1, O_LIMIT])):
        if (
            orders[k, O_ACTIVE] != 0.0
            and orders[k, O_INST] == inst
            and orders[k, O_TYPE] == E.ORDER_MARKET
        ):
            q += orders[k, O_QTY]
    return q


@njit(cache=True, error_model="numpy")
def carry_direction_nb(st, last_rate, fann, a, b, kind_a, kind_b, p):
    """Update the carry direction ``st[0]`` from the legs' last settled funding rates,
    annualised by their own intervals. Returns the reason of a change (0: none)."""
    ra = 0.0 if kind_a == E.SPOT else last_rate[a] * fann[a]
    rb = 0.0 if kind_b == E.SPOT else last_rate[b] * fann[b]
    if ra != ra or rb != rb:
        return 0  # a leg's rate is not known yet
    spread = rb - ra  # in favour of direction +1 (long A, short B)
    d = st[0]
    if d == 0.0:
        if spread > p[E.P_ENTRY]:
            st[0] = 1.0
            return E.R_ENTRY
        if p[E.P_BOTH] != 0.0 and -spread > p[E.P_ENTRY]:
            st[0] = -1.0
            return E.R_ENTRY
        return 0
    if d * spread < -p[E.P_EXIT]:
        if p[E.P_FLIP] != 0.0:
            st[0] = -d
            return E.R_ROTATE
        st[0] = 0.0
        return E.R_EXIT
    return 0


@njit(cache=True, error_model="numpy")
def pair_sample_nb(st, ring_a, ring_b, t, close, a, b, step):
    """Sample the legs' log returns every ``step`` bars and re-estimate beta (OLS slope of
    leg A's returns on leg B's over the ring) once the window is full."""
    if t < step or t % step != 0:
        return
    w = ring_a.shape[0]
    n = int(st[1])
    j = n % w
    ring_a[j] = math.log(close[a, t] / close[a, t - step])
    ring_b[j] = math.log(close[b, t] / close[b, t - step])
    n += 1
    st[1] = n
    if n < w:
        return
    ma = 0.0
    mb = 0.0
    for k in range(w):
        ma += ring_a[k]
        mb += ring_b[k]
    ma /= w
    mb /= w
    cov = 0.0
    var = 0.0
    for k in range(w):
        db = ring_b[k] - mb
        cov += (ring_a[k] - ma) * db
        var += db * db
    if var > 0.0:
        st[2] = cov / var
