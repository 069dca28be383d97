"""Run the reference job (``../shared/bench/reference-job.md``) through the real engine.

Prints bars/s after JIT warm-up: min and median of repeats for the kernel alone and end to end
(array set-up + kernel + result), bars per CPU-second (which a busy machine distorts less),
cold time in a fresh process (numba's cache load or compilation included), peak RSS, and the
result figures. ``--json`` prints one JSON object with ``bars_per_s``, ``cold_s``,
``peak_rss_mb``, ``total_pnl``, ``n_trades``, ``fees``, ``funding``. ``--sweep`` adds the
sweep variant: 100 band widths from 0.01 to 0.5 in one batch on all cores.

    python3 benchmarks/reference_job.py [--json] [--repeats 7] [--sweep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

COLD_SNIPPET = """
import time
t0 = time.perf_counter()
from gammaperp.engine import simulate
from gammaperp.research.reference_job import reference_market, reference_spec
r = simulate(reference_market(), reference_spec(), record="summary")
print(time.perf_counter() - t0)
"""


def cold_start_seconds() -> float:
    """Wall time of a fresh interpreter: imports, market build, (cached) JIT, one run."""
    out = subprocess.run(
        [sys.executable, "-c", COLD_SNIPPET],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sweep", action="store_true", help="also run the 100-band sweep")
    args = ap.parse_args()

    import numpy as np

    from gammaperp.engine import simulate, simulate_batch
    from gammaperp.engine.core import run_kernel
    from gammaperp.research.reference_job import reference_market, reference_spec

    cold = cold_start_seconds()
    market = reference_market()
    spec = reference_spec()
    n = market.n_bars
    simulate(market, spec, record="summary")  # warm-up (JIT / cache load)

    # kernel time alone: time a batch of one with market arrays prepared once
    from gammaperp.engine import core

    km = core.kernel_market(market, spec.venues, spec.execution, need_sigma=False)
    orig = core.kernel_market
    core.kernel_market = lambda *a, _km=km, **k: _km  # reuse prepared arrays: kernel only
    try:
        kernel_times = []
        kernel_cpu = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            c0 = time.process_time()
            run_kernel(market, [spec], record="summary", parallel=False)
            kernel_cpu.append(time.process_time() - c0)
            kernel_times.append(time.perf_counter() - t0)
    finally:
        core.kernel_market = orig
    del km  # the timed runs' arrays are not needed any more
    e2e_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = simulate(market, spec, record="summary")
        e2e_times.append(time.perf_counter() - t0)
    full_t0 = time.perf_counter()
    full = simulate(market, spec, record="full")
    full_s = time.perf_counter() - full_t0
    s = res.summary
    out = {
        "bars": n,
        "bars_per_s": n / min(kernel_times),
        "bars_per_s_median": n / statistics.median(kernel_times),
        "bars_per_cpu_s": n / statistics.median(kernel_cpu),
        "load_average_1m": os.getloadavg()[0],
        "bars_per_s_end_to_end": n / min(e2e_times),
        "full_record_s": full_s,
        "cold_s": cold,
        "total_pnl": s["total_pnl"],
        "n_trades": s["n_trades"],
        "fees": s["fees"],
        "funding": -s["funding"],  # funding paid (positive = paid), as the job defines it
        "option_pnl": s["option_pnl"],
        "perp_pnl": s["perp_pnl"],
        "full_record_total_pnl": full.summary["total_pnl"],
    }
    if args.sweep:
        bands = np.linspace(0.01, 0.5, 100)
        specs = [reference_spec(float(b)) for b in bands]
        simulate_batch(market, specs[:2], record="summary")  # warm the parallel kernel
        t0 = time.perf_counter()
        batch = simulate_batch(market, specs, record="summary")
        dt = time.perf_counter() - t0
        out["sweep_configs"] = len(specs)
        out["sweep_config_bars_per_s"] = len(specs) * n / dt
        out["sweep_s"] = dt
        out["sweep_cores"] = os.cpu_count()
        out["sweep_best_band"] = float(
            bands[int(np.argmax([r.summary["total_pnl"] for r in batch]))]
        )
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        print(json.dumps(out))
        return
    print(f"reference job: {n:,} one-minute bars")
    print(
        f"  kernel       {out['bars_per_s'] / 1e6:8.1f} M bars/s (min of {args.repeats}), "
        f"median {out['bars_per_s_median'] / 1e6:.1f} M bars/s"
    )
    print(
        f"  kernel CPU   {out['bars_per_cpu_s'] / 1e6:8.1f} M bars per CPU-second (median; "
        f"load average {out['load_average_1m']:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"  end to end   {out['bars_per_s_end_to_end'] / 1e6:8.1f} M bars/s "
        "(array set-up + kernel + result, summary record)"
    )
    print(f"  full record  {out['full_record_s']:8.3f} s (every step, blotter, ledgers)")
    print(f"  cold start   {cold:8.2f} s (fresh process, numba cache warm if present)")
    print(f"  peak RSS     {out['peak_rss_mb']:8.0f} MB")
    print(
        f"  total P&L    {s['total_pnl']:14.6f} USD   (option {s['option_pnl']:.6f}, "
        f"perp {s['perp_pnl']:.6f})"
    )
    print(
        f"  hedge trades {s['n_trades']:8d}   fees {s['fees']:.6f}   "
        f"funding paid {-s['funding']:.6f}"
    )
    if args.sweep:
        print(
            f"  sweep        {out['sweep_configs']} bands in {out['sweep_s']:.2f} s: "
            f"{out['sweep_config_bars_per_s'] / 1e6:.1f} M config-bars/s on "
            f"{out['sweep_cores']} cores"
        )


if __name__ == "__main__":
    main()
