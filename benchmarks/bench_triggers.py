"""Throughput of every hedge trigger, template and the risk overlays on the reference job.

    python3 benchmarks/bench_triggers.py [--json] [--repeats 5]

One year of 1-minute bars (the reference job's GBM path, ``../shared/bench/reference-job.md``):
the reference straddle with each hedge trigger (band, price move, time, Whalley-Wilmott,
Leland's vol, intrabar detection on OHLC built from consecutive closes), all risk overlays on,
and the perp templates (two-venue carry, cash-and-carry, ETH/BTC pair on a second correlated
path, band scalping). Prints bars per second of the compiled kernel after warm-up (best and
median of the repeats, summary recording: one equity row per day) and the trade count. The
target for the compiled built-ins is >= 10 million bars per second on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace

import numpy as np

from gammaperp.engine import simulate
from gammaperp.engine.core import run_kernel
from gammaperp.engine.specs import (
    CarrySpec,
    PairSpec,
    RiskSpec,
    RunSpec,
    ScalpSpec,
    VenueSpec,
)
from gammaperp.market.model import Instrument, MarketBuilder, regular_index
from gammaperp.research.reference_job import reference_closes, reference_market, reference_spec


def ohlc_market(c: np.ndarray):
    """The reference path with open = previous close and high/low spanning the two."""
    ts = regular_index(0, c.shape[0], 60)
    prev = np.concatenate((c[:1], c[:-1]))
    b = MarketBuilder(ts)
    fts = ts[480::480]
    b.add_instrument(
        Instrument("PERP", "venue", "perp_linear", underlying="BTC"),
        c,
        open=prev,
        high=np.maximum(prev, c),
        low=np.minimum(prev, c),
        funding_ts=fts,
        funding_rate=np.full(fts.shape[0], 0.0001),
    )
    b.set_iv("BTC", 0.6)
    return b.build()


def multi_market(c: np.ndarray):
    """Two venues' perps plus spot on the reference path, and an ETH-like second path."""
    n = c.shape[0]
    ts = regular_index(0, n, 60)
    rng = np.random.default_rng(11)
    eth = 2_000.0 * np.exp(1.2 * np.log(c / c[0]) + np.cumsum(rng.normal(0, 3e-4, n)))
    b = MarketBuilder(ts)
    f8 = ts[480::480]
    f1 = ts[60::60]
    rate_a = 0.0001 + 0.0002 * np.sin(np.arange(f8.shape[0]) / 9.0)
    b.add_instrument(Instrument("PERP", "a", "perp_linear"), c, funding_ts=f8, funding_rate=rate_a)
    b.add_instrument(
        Instrument("PERP", "b", "perp_linear"),
        c,
        funding_ts=f1,
        funding_rate=np.full(f1.shape[0], 0.00002),
        funding_interval_hours=1.0,
    )
    b.add_instrument(Instrument("SPOT", "a", "spot"), c)
    b.add_instrument(Instrument("ETHPERP", "a", "perp_linear", underlying="ETH"), eth,
                     funding_ts=f8, funding_rate=np.full(f8.shape[0], 0.0001))  # fmt: skip
    return b.build()


def cases():
    ref = reference_spec()
    st = ref.strategy
    c = reference_closes()
    m_ref = reference_market()
    m_ohlc = ohlc_market(c)
    m_multi = multi_market(c)
    ab = (VenueSpec("a", capital=1e6), VenueSpec("b", capital=1e6))
    return [
        ("straddle: band (reference job)", m_ref, ref),
        ("straddle: price move 0.5 %", m_ref,
         replace(ref, strategy=replace(st, triggers=("price",), move_pct=0.005))),
        ("straddle: time 60 min", m_ref,
         replace(ref, strategy=replace(st, triggers=("time",), interval_minutes=60.0))),
        ("straddle: Whalley-Wilmott", m_ref,
         replace(ref, strategy=replace(st, triggers=("whalley_wilmott",), risk_aversion=0.05))),
        ("straddle: band + Leland vol", m_ref,
         replace(ref, strategy=replace(st, leland=True, leland_interval_minutes=60.0))),
        ("straddle: band, intrabar OHLC", m_ohlc,
         replace(ref, strategy=replace(st, instrument="PERP", intrabar=True))),
        ("straddle: band + all overlays", m_ref, replace(ref, risk=RiskSpec(
            stop_loss_pct=0.5, leg_stop_pct=0.5, vol_short_bars=30, vol_long_bars=1440,
            vol_k=4.0, trend_fast_bars=60, trend_slow_bars=1440, trend_threshold=0.05,
            trend_action="bias", hedge_bias=0.05, loss_streak=50, inventory_reset=5.0,
            max_position=10.0, max_notional=1e7))),
        ("carry: two venues", m_multi, RunSpec(venues=ab, strategy=CarrySpec(
            "PERP", "PERP", long_venue="a", short_venue="b", quantity=1.0, entry_apr=0.05))),
        ("cash-and-carry: spot + perp", m_multi, RunSpec(venues=ab, strategy=CarrySpec(
            "SPOT", "PERP", long_venue="a", short_venue="a", direction="long_short",
            on_adverse="exit"))),
        ("pair: ETH vs BTC beta", m_multi, RunSpec(venues=ab, strategy=PairSpec(
            "ETHPERP", "PERP", long_venue="a", hedge_venue="a", window=168, return_bars=60))),
        ("scalp: band 0.3 %", m_multi, RunSpec(venues=ab, strategy=ScalpSpec(
            "PERP", venue="a", quantity=0.1, max_inventory=0.5, centre_bars=240,
            band_pct=0.003))),
    ]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for name, market, spec in cases():
        res = simulate(market, spec, record="summary")  # warm-up: JIT / cache load
        n = market.n_bars
        wall, cpu = [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            run_kernel(market, [spec], record="summary", parallel=False)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        rows.append(
            {
                "case": name,
                "bars": n,
                "bars_per_s": n / min(wall),
                "bars_per_s_median": n / statistics.median(wall),
                "bars_per_cpu_s": n / statistics.median(cpu),
                "n_trades": res.summary["n_trades"],
                "total_pnl": res.summary["total_pnl"],
            }
        )
    out = {"load_average_1m": os.getloadavg()[0], "cases": rows}
    if args.json:
        print(json.dumps(out))
        return
    print(f"{'case':34s} {'M bars/s':>9s} {'median':>8s} {'per CPU-s':>9s} {'trades':>8s}")
    for r in rows:
        print(
            f"{r['case']:34s} {r['bars_per_s'] / 1e6:9.1f} {r['bars_per_s_median'] / 1e6:8.1f} "
            f"{r['bars_per_cpu_s'] / 1e6:9.1f} {r['n_trades']:8d}"
        )
    print(f"load average (1 min): {out['load_average_1m']:.2f}")


if __name__ == "__main__":
    main()
