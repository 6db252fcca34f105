"""Testbed experiment throughput: a process pool against a single process, in the same run.

The same list of runs (a mix of every registered testbed, baseline and each intervention, at
default knobs, distinct seeds) is executed twice: one after another in this process, and spread
over a `ProcessPoolExecutor` with one worker per CPU, in chunks, the way `ground_truth` runs them.
The single process is warmed up first (one run per testbed, so scikit-learn is already imported);
the pool's time includes starting its workers and their first imports, which is what a
`ground_truth` call pays.

Run:  python bench/testbed_throughput.py [--runs 200] [--workers N]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

from autoalign.testbeds import get_testbed, list_testbeds

Run = tuple[str, str | None, int]
"""(testbed, intervention, seed)."""


def mixed_runs(n: int) -> list[Run]:
    arms = [
        (tb.name, intervention)
        for tb in list_testbeds()
        for intervention in [None, *(i.name for i in tb.interventions)]
    ]
    return [(name, iv, 10_000 + k) for k, (name, iv) in zip(range(n), itertools.cycle(arms))]


def run_one(run: Run) -> tuple[str, float]:
    name, intervention, seed = run
    started = time.perf_counter()
    get_testbed(name).run({}, intervention=intervention, seed=seed)
    return name, time.perf_counter() - started


def run_chunk(runs: list[Run]) -> list[tuple[str, float]]:
    return [run_one(r) for r in runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs per mode (default 200)")
    parser.add_argument("--workers", type=int, default=None, help="pool size (default: CPUs)")
    args = parser.parse_args()
    workers = args.workers or len(os.sched_getaffinity(0))
    runs = mixed_runs(args.runs)

    for tb in list_testbeds():  # warm-up: imports and first-call costs out of the timing
        tb.run({}, seed=0)
    started = time.perf_counter()
    serial = [run_one(r) for r in runs]
    serial_s = time.perf_counter() - started

    chunk = max(1, min(25, len(runs) // (workers * 8)))
    batches = [runs[i : i + chunk] for i in range(0, len(runs), chunk)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pooled = [r for batch in pool.map(run_chunk, batches) for r in batch]
    pool_s = time.perf_counter() - started
    assert len(pooled) == len(serial)

    per_testbed: dict[str, list[float]] = defaultdict(list)
    for name, seconds in serial:
        per_testbed[name].append(seconds)
    print(f"{len(runs)} runs over {len(per_testbed)} testbeds (baseline and every intervention, "
          f"default knobs); {workers} workers, chunks of {chunk}")
    for name, times in sorted(per_testbed.items()):
        print(f"  {name:<22} {len(times):>4} runs  mean {1000 * statistics.fmean(times):6.1f} ms"
              f"  max {1000 * max(times):6.1f} ms")
    serial_rate = len(runs) / serial_s
    pool_rate = len(runs) / pool_s
    print(f"single process : {serial_rate:7.1f} runs/s  ({serial_s:.2f} s)")
    print(f"process pool   : {pool_rate:7.1f} runs/s  ({pool_s:.2f} s, incl. worker start-up)")
    print(f"pool / single  : {pool_rate / serial_rate:7.2f}x")
    busy_serial = sum(s for _, s in serial)
    busy_pool = sum(s for _, s in pooled)
    print(f"time inside runs: single {busy_serial:.2f} s, pool {busy_pool:.2f} s summed over "
          f"workers ({busy_pool / pool_s:.2f} runs in flight on average)")


if __name__ == "__main__":
    main()
