"""The local backend runs sandboxed jobs in parallel, one per core, and keeps their order."""

from __future__ import annotations

import os
import time

from autoalign.sandbox import Backend, IsolationLevel, Job, Limits, LocalBackend

from .helpers import where

SLEEP_S = 1.0


def test_local_backend_is_a_backend() -> None:
    with LocalBackend() as backend:
        assert isinstance(backend, Backend)
        assert backend.workers == (os.cpu_count() or 1)


def test_map_runs_jobs_in_parallel_bounded_by_cores(best: IsolationLevel) -> None:
    cores = os.cpu_count() or 1
    n = 2 * cores
    jobs = [
        Job(kind="code", payload=f"import time\ntime.sleep({SLEEP_S})\nprint({i})\n")
        for i in range(n)
    ]
    with LocalBackend() as backend:
        t0 = time.monotonic()
        (single,) = backend.map(jobs[:1])
        one = time.monotonic() - t0
        t0 = time.monotonic()
        runs = backend.map(jobs)
        elapsed = time.monotonic() - t0

    assert single.exit_code == 0, where(single)
    assert [r.stdout for r in runs] == [f"{i}\n" for i in range(n)], "results keep job order"
    assert all(r.exit_code == 0 and r.isolation == best for r in runs)
    rounds = n / cores  # N jobs on `cores` workers: N / cores rounds of one job's time
    message = f"[isolation={best}] {n} jobs took {elapsed:.2f}s; one takes {one:.2f}s"
    assert elapsed < (rounds + 0.6) * one, f"not parallel: {message}"
    assert elapsed > (rounds - 0.5) * SLEEP_S, f"more than {cores} at once: {message}"
    print(message)


def test_submit_returns_a_future_of_the_record(best: IsolationLevel) -> None:
    with LocalBackend(workers=1) as backend:
        future = backend.submit(Job(kind="code", payload="print('x')", limits=Limits(wall_s=5)))
        run = future.result(timeout=30)
    assert run.stdout == "x\n" and run.isolation == best, where(run)
