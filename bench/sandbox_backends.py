"""Sandbox backends: the same jobs on a local Ray instance against the local pool, in one run.

The same list of spec jobs (the reward-hacking testbed, baseline and penalty arms, two seeds
each, distinct seeds per job) runs through `LocalBackend` and through `RayBackend` on a Ray
instance this script starts with as many CPUs as the local pool has workers. Both are warmed up
first (one job per worker: Ray's workers start, each sandbox level is probed), so the timing is
the steady state: what Ray's scheduling and the record's way back add to each job. The records
are checked to be the same (timings aside) before anything is printed.

Run:  python bench/sandbox_backends.py [--jobs 24] [--workers N]   (needs the `ray` extra)
"""

from __future__ import annotations

import argparse
import os
import time

from autoalign.sandbox import Job, LocalBackend, RayBackend, SandboxRun
from autoalign.testbeds import ExperimentSpec


def jobs(n: int, first_seed: int) -> list[Job]:
    return [
        Job(
            kind="spec",
            payload=ExperimentSpec(
                testbed="reward_hacking",
                intervention="repeat_penalty" if k % 2 else None,
                seeds=[first_seed + 2 * k, first_seed + 2 * k + 1],
            ).model_dump_json(),
        )
        for k in range(n)
    ]


def timed(backend: LocalBackend | RayBackend, work: list[Job]) -> tuple[float, list[SandboxRun]]:
    started = time.perf_counter()
    runs = backend.map(work)
    return time.perf_counter() - started, runs


def same(a: SandboxRun, b: SandboxRun) -> bool:
    def strip(run: SandboxRun) -> tuple[object, ...]:
        result = {k: v for k, v in (run.result or {}).items() if k != "seconds"}
        return (run.kind, run.isolation, run.exit_code, run.killed_by, run.stdout, result)

    return strip(a) == strip(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=24, help="jobs per backend (default 24)")
    parser.add_argument("--workers", type=int, default=None, help="jobs at once (default: CPUs)")
    args = parser.parse_args()
    workers = args.workers or len(os.sched_getaffinity(0))
    work = jobs(args.jobs, first_seed=1000)
    warm = jobs(workers, first_seed=0)

    # Before ray is imported: the local instance then listens on the loopback address only.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray  # the extra, needed by this benchmark only

    ray.init(num_cpus=workers, include_dashboard=False, logging_level="WARNING")
    try:
        with LocalBackend(workers=workers) as local, RayBackend(workers=workers) as on_ray:
            local.map(warm)
            on_ray.map(warm)
            local_s, local_runs = timed(local, work)
            ray_s, ray_runs = timed(on_ray, work)
    finally:
        ray.shutdown()
    assert all(r.ok for r in local_runs + ray_runs), "a job failed"
    assert all(same(a, b) for a, b in zip(local_runs, ray_runs, strict=True)), "records differ"
    print(f"{args.jobs} spec jobs, {workers} at once, the same records on both backends")
    print(f"local pool : {local_s:6.2f} s  ({args.jobs / local_s:5.2f} jobs/s)")
    print(f"Ray (local): {ray_s:6.2f} s  ({args.jobs / ray_s:5.2f} jobs/s)")
    print(f"Ray / local time: {ray_s / local_s:.2f}x")


if __name__ == "__main__":
    main()
