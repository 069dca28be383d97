"""Independent plain-Python oracle of the project's reference benchmark job.

It deliberately does NOT import gammaperp: it is a second, loop-by-loop implementation of the
job's specification, to be compared with the engine. Only ``math`` and ``numpy`` (for the price
path) are used.

The job
-------
* Path: ``n`` one-minute closes of a zero-drift GBM, ``sigma = 0.80`` per year,
  ``S0 = 30,000``, ``dt = 1 / 525,600`` years. Log-increments are
  ``sigma * sqrt(dt) * z - 0.5 * sigma**2 * dt`` with
  ``z = numpy.random.default_rng(7).standard_normal(n - 1)``; ``close[0] == S0`` and
  ``close[i] = S0 * exp(cumsum(increments)[i - 1])``.
* Option: long 1 ATM straddle (1 call + 1 put), Black-Scholes at implied vol 60 %, r = 0,
  30-day expiry (43,200 bars), ``tau = bars_left / 525,600`` years, bought at bar 0 at model
  value. At its expiry bar it is settled at intrinsic ``|S - K|`` and a new straddle struck at
  that bar's close is bought at model value. At the last bar the open straddle is marked at model
  value.
* Hedge: linear perpetual at the same close. Straddle delta ``2 N(d1) - 1``; ``net = delta +
  perp``; if ``|net| > band`` the perp trades ``-net`` so that net delta is exactly 0 (the new
  position is set to ``-delta``; the traded quantity is ``-delta - old position``). Taker fee
  4 bps of ``|qty| * price``. No slippage, no latency.
* Funding: at every bar ``i > 0`` with ``i % 480 == 0`` the position carried into the bar pays
  ``position * close * 0.0001`` (longs pay when the rate is positive; a negative figure is
  funding received).
* Order inside bar ``i``: (1) funding, (2) expiry settlement and roll, (3) hedge. At bar 0: buy
  the straddle, then hedge. At an expiry bar the hedge uses the NEW straddle's delta.
* Last bar: funding / roll as on any bar, then the hedge is run as usual (choice: the last bar
  is an ordinary bar; the final trade pays its fee), then the straddle is marked at model value
  and the perp at the last close.

P&L accounting (all in USD)::

    option_pnl = - sum(premiums paid) + sum(expiry intrinsics) + final straddle mark
    perp_pnl   = - sum(qty_i * price_i) + final_position * last_close   (trading P&L, no fees)
    fees       = sum(fee * |qty_i| * price_i)
    funding    = sum(position_carried * close * funding_rate)            (paid; < 0 = received)
    total_pnl  = option_pnl + perp_pnl - fees - funding
"""

from __future__ import annotations

import math

import numpy as np

BARS_PER_YEAR = 525_600
_SQRT2 = math.sqrt(2.0)


def gbm_closes(
    n: int, *, sigma: float = 0.80, s0: float = 30_000.0, seed: int = 7,
    bars_per_year: int = BARS_PER_YEAR,
) -> np.ndarray:  # fmt: skip
    """The job's price path: ``n`` closes of a zero-drift GBM (see module docstring)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    dt = 1.0 / bars_per_year
    z = np.random.default_rng(seed).standard_normal(n - 1)
    inc = sigma * math.sqrt(dt) * z - 0.5 * sigma * sigma * dt
    log_path = np.concatenate((np.zeros(1), np.cumsum(inc)))
    closes = s0 * np.exp(log_path)
    closes[0] = s0  # exp(0) == 1 already; kept explicit
    return closes


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / _SQRT2))


def straddle_value_delta(S: float, K: float, tau: float, iv: float) -> tuple[float, float]:
    """Black-Scholes (r = 0) value and delta of 1 call + 1 put struck at ``K``.

    ``tau <= 0`` gives the intrinsic value ``|S - K|`` and the delta ``sign(S - K)`` (0 at the
    money).
    """
    if tau <= 0.0:
        return abs(S - K), (1.0 if S > K else (-1.0 if S < K else 0.0))
    sd = iv * math.sqrt(tau)
    d1 = (math.log(S / K) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    nd1 = _ncdf(d1)
    nd2 = _ncdf(d2)
    call = S * nd1 - K * nd2
    put = K * _ncdf(-d2) - S * _ncdf(-d1)
    return call + put, 2.0 * nd1 - 1.0


def run_reference_job(
    n: int = 525_600,
    band: float = 0.05,
    *,
    sigma: float = 0.80,
    s0: float = 30_000.0,
    seed: int = 7,
    iv: float = 0.60,
    fee: float = 0.0004,
    funding_rate: float = 0.0001,
    funding_every: int = 480,
    expiry_bars: int = 43_200,
    bars_per_year: int = BARS_PER_YEAR,
    closes=None,
) -> dict:
    """Run the reference job and return its figures.

    ``closes`` (a 1-D sequence of positive prices) replaces the generated GBM path; then ``n``,
    ``sigma``, ``s0`` and ``seed`` are ignored and ``n = len(closes)``.

    Returns a dict with ``total_pnl``, ``option_pnl``, ``perp_pnl``, ``fees``, ``funding``,
    ``n_trades``, ``n_rolls``, ``final_position``, ``final_close`` and ``n``.
    """
    if closes is None:
        path = gbm_closes(n, sigma=sigma, s0=s0, seed=seed, bars_per_year=bars_per_year)
    else:
        path = np.asarray(closes, dtype=np.float64)
        if path.ndim != 1 or path.shape[0] < 1:
            raise ValueError("closes must be a non-empty 1-D sequence")
        if not np.all(np.isfinite(path)) or not np.all(path > 0.0):
            raise ValueError("closes must be finite and positive")
    px = path.tolist()  # plain floats for the loop
    n = len(px)
    if expiry_bars < 1:
        raise ValueError(f"expiry_bars must be >= 1, got {expiry_bars!r}")
    if funding_every < 1:
        raise ValueError(f"funding_every must be >= 1, got {funding_every!r}")

    position = 0.0  # perp, coin
    perp_cash = 0.0  # -sum(qty * price)
    fees = 0.0
    funding = 0.0
    option_cash = 0.0
    n_trades = 0
    n_rolls = 0

    # bar 0: buy the first straddle
    strike = px[0]
    expiry = expiry_bars
    value, delta = straddle_value_delta(px[0], strike, expiry_bars / bars_per_year, iv)
    option_cash -= value

    for i in range(n):
        s = px[i]
        if i > 0:
            # (1) funding on the position carried into the bar
            if i % funding_every == 0:
                funding += position * s * funding_rate
            # (2) expiry settlement and roll
            if i == expiry:
                option_cash += abs(s - strike)
                strike = s
                expiry = i + expiry_bars
                value, delta = straddle_value_delta(s, strike, expiry_bars / bars_per_year, iv)
                option_cash -= value
                n_rolls += 1
            else:
                value, delta = straddle_value_delta(s, strike, (expiry - i) / bars_per_year, iv)
        # (3) hedge
        net = delta + position
        if abs(net) > band:
            target = -delta
            qty = target - position
            perp_cash -= qty * s
            fees += fee * abs(qty) * s
            position = target
            n_trades += 1

    last = px[n - 1]
    # mark: `value` is the open straddle's model value at the last bar
    option_pnl = option_cash + value
    perp_pnl = perp_cash + position * last
    total = option_pnl + perp_pnl - fees - funding
    return {
        "total_pnl": total,
        "option_pnl": option_pnl,
        "perp_pnl": perp_pnl,
        "fees": fees,
        "funding": funding,
        "n_trades": n_trades,
        "n_rolls": n_rolls,
        "final_position": position,
        "final_close": last,
        "n": n,
    }


if __name__ == "__main__":  # pragma: no cover - manual run
    import time

    t0 = time.perf_counter()
    res = run_reference_job()
    for k, v in res.items():
        print(f"{k:>15}: {v!r}")
    print(f"{'seconds':>15}: {time.perf_counter() - t0:.2f}")
