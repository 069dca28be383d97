"""The reference benchmark job (``shared/bench/reference-job.md``) built for the real engine.

One year of 1-minute GBM closes (sigma 80 %, S0 30,000, seed 7), a long 1 ATM 30-day straddle
valued with Black-Scholes at 60 % IV, rolled at expiry, delta-hedged on a linear perp whenever
|net delta| > band, 4 bps taker fee, funding 0.01 % every 8 h on the position carried in.
The engine runs it as an ordinary configuration: nothing here is special-cased.
"""

from __future__ import annotations

import numpy as np

from gammaperp.engine.specs import ExecutionSpec, RunSpec, StraddleSpec, VenueSpec
from gammaperp.market.model import Instrument, Market, MarketBuilder, regular_index

N_BARS = 525_600
S0 = 30_000.0
SIGMA = 0.80
SEED = 7
IV = 0.60
TAKER = 0.0004
FUNDING_RATE = 0.0001
EXPIRY_DAYS = 30.0
BAND = 0.05


def reference_closes(
    n: int = N_BARS, *, sigma: float = SIGMA, s0: float = S0, seed: int = SEED
) -> np.ndarray:
    """close[0] = S0; close[i] = S0 * exp(cumsum(sigma*sqrt(dt)*z - sigma^2/2*dt)), with
    z = default_rng(seed).standard_normal(n - 1) (identical to ``synthetic.gbm_path``; kept
    here in plain numpy so the benchmark does not import the data layer)."""
    dt = 1.0 / N_BARS
    z = np.random.default_rng(seed).standard_normal(n - 1)
    out = np.empty(n)
    out[0] = s0
    out[1:] = s0 * np.exp(np.cumsum(sigma * np.sqrt(dt) * z - 0.5 * sigma**2 * dt))
    return out


def reference_market(n: int = N_BARS, closes: np.ndarray | None = None) -> Market:
    """The job's market: 1-minute bars from the epoch, 8-hourly funding at 0.01 %."""
    c = reference_closes(n) if closes is None else np.asarray(closes, dtype=np.float64)
    ts = regular_index(0, c.shape[0], 60)
    fts = ts[480::480]  # every 8 h after the first bar
    frate = np.full(fts.shape[0], FUNDING_RATE)
    b = MarketBuilder(ts, meta={"source": "reference-job"})
    b.add_instrument(
        Instrument("PERP", "venue", "perp_linear", underlying="BTC"),
        c,
        funding_ts=fts,
        funding_rate=frate,
    )
    b.set_iv("BTC", IV)
    return b.build()


def reference_spec(band: float = BAND) -> RunSpec:
    """Long straddle + delta band, 4 bps taker, no slippage or latency, ample capital."""
    return RunSpec(
        venues=(
            VenueSpec(
                name="venue",
                taker_fee=TAKER,
                maker_fee=0.0,
                capital=1e7,
                tiers="flat",
                flat_mmr=0.005,
            ),
        ),
        strategy=StraddleSpec(
            instrument="PERP",
            hedge_instrument="PERP",
            band=band,
            expiry_days=EXPIRY_DAYS,
            quantity=1.0,
        ),
        execution=ExecutionSpec(),
    )
