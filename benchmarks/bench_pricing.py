"""Delta+gamma throughput of the pricing core (single thread).

(a) the numpy-vectorised Python API (``delta_gamma`` and the full ``greeks``) on 1e6-element
    arrays, validation and broadcasting included;
(b) an ``@njit`` loop calling the scalar kernels ``bs_delta_gamma_nb`` /
    ``black76_delta_gamma_nb`` on 1e7 inputs, as the engine does per bar.

Each figure is evaluations per second over ``--repeats`` timed runs after a warm-up run;
min and median are reported. Usage::

    python benchmarks/bench_pricing.py [--json] [--repeats 5] [--n-api 1000000] [--n-nb 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numba
import numpy as np
from numba import njit

from gammaperp.pricing import (
    black76_delta_gamma_nb,
    bs_delta_gamma_nb,
    delta_gamma,
    greeks,
)


@njit(error_model="numpy")
def _bs_loop(is_call, spot, strike, t, vol, r, q, out_d, out_g):
    for i in range(spot.size):
        d, g = bs_delta_gamma_nb(is_call[i], spot[i], strike[i], t[i], vol[i], r, q)
        out_d[i] = d
        out_g[i] = g


@njit(error_model="numpy")
def _b76_loop(is_call, fwd, strike, t, vol, r, out_d, out_g):
    for i in range(fwd.size):
        d, g = black76_delta_gamma_nb(is_call[i], fwd[i], strike[i], t[i], vol[i], r)
        out_d[i] = d
        out_g[i] = g


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    spot = rng.uniform(20000.0, 40000.0, n)
    strike = spot * rng.uniform(0.5, 1.5, n)
    t = rng.uniform(1 / 365, 1.0, n)
    vol = rng.uniform(0.2, 1.5, n)
    is_call = rng.random(n) < 0.5
    return is_call, spot, strike, t, vol


def _time(fn, repeats):
    """Wall-clock and process-CPU seconds of each repeat (after one warm-up call)."""
    fn()  # warm-up (JIT compile / cache load, page faults)
    wall, cpu = [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def _rates(n, timings):
    """Evaluations per second. ``min``/``median`` use wall-clock time; ``cpu_median`` uses
    process CPU time, which stays meaningful when other jobs share the machine."""
    wall, cpu = timings
    rates = [n / s for s in wall]
    cpu_rates = [n / s for s in cpu if s > 0]
    return {
        "min": min(rates),
        "median": statistics.median(rates),
        "max": max(rates),
        "cpu_median": statistics.median(cpu_rates) if cpu_rates else float("nan"),
    }


def run(n_api, n_nb, repeats):
    results = {}
    is_call, spot, strike, t, vol = _inputs(n_api)
    kinds = np.where(is_call, "call", "put")
    results["api_delta_gamma_bs"] = _rates(
        n_api, _time(lambda: delta_gamma(kinds, spot, strike, t, vol, 0.03, 0.0), repeats)
    )
    results["api_greeks_bs"] = _rates(
        n_api, _time(lambda: greeks(kinds, spot, strike, t, vol, 0.03, 0.0), repeats)
    )

    is_call, spot, strike, t, vol = _inputs(n_nb, seed=1)
    out_d = np.empty(n_nb)
    out_g = np.empty(n_nb)
    results["numba_bs_delta_gamma_nb"] = _rates(
        n_nb,
        _time(lambda: _bs_loop(is_call, spot, strike, t, vol, 0.03, 0.0, out_d, out_g), repeats),
    )
    assert np.isfinite(out_d).all() and np.isfinite(out_g).all()
    results["numba_black76_delta_gamma_nb"] = _rates(
        n_nb,
        _time(lambda: _b76_loop(is_call, spot, strike, t, vol, 0.03, out_d, out_g), repeats),
    )
    return {
        "n_api": n_api,
        "n_numba": n_nb,
        "repeats": repeats,
        "threads": 1,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "target_numba_per_sec": 20e6,
        "results": results,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--n-api", type=int, default=1_000_000)
    ap.add_argument("--n-nb", type=int, default=10_000_000)
    args = ap.parse_args(argv)
    report = run(args.n_api, args.n_nb, args.repeats)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"delta+gamma evaluations per second, single thread, {args.repeats} repeats "
        f"(numpy {report['numpy']}, numba {report['numba']})"
    )
    for name, r in report["results"].items():
        n = report["n_numba"] if name.startswith("numba") else report["n_api"]
        print(
            f"  {name:30s} n={n:>10,d}  min {r['min'] / 1e6:7.2f} M/s  "
            f"median {r['median'] / 1e6:7.2f} M/s  (cpu-time median {r['cpu_median'] / 1e6:7.2f})"
        )
    nb = report["results"]["numba_bs_delta_gamma_nb"]["median"]
    verdict = "meets" if nb >= 20e6 else "BELOW"
    print(f"  numba BS kernel median {nb / 1e6:.1f} M/s {verdict} the 20 M/s/core target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
