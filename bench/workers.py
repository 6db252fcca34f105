"""Throughput of 1, 2 and 4 `autoalign worker` processes sharing one research database.

Two workloads, each measured with 1, 2 and 4 worker processes (one item at a time each) in the
same run; the baseline is 1 worker:

- projects: K agendas submitted with `autoalign submit`, on `scripted:schema` models with a fixed
  latency per call (no provider, no network), each the whole pipeline (propose, execute with its
  sandbox runs, write-up); reported as model calls per second;
- sandbox: J sandbox jobs (one seed of a testbed experiment spec each) enqueued as `QueueBackend`
  enqueues them; reported as sandbox runs per second.

The workers are started first and timed from the moment work is queued until every item is
done, so their start-up is not counted. The database is a fresh SQLite file per measurement, or
a fresh PostgreSQL database when `--pg ADMIN_URL` (a role that may CREATE DATABASE) is given.
The target is 70% of linear scaling up to the machine's cores (`ok` says whether it was met):
past the cores, CPU-bound work cannot scale, and the numbers say so.

Run:  python bench/workers.py [--quick] [--pg postgresql://user:pw@host/postgres]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from autoalign.experiments import job_key, job_payload
from autoalign.sandbox import Job, Limits
from autoalign.store import Store
from autoalign.testbeds import ExperimentSpec
from autoalign.vocabulary import WorkKind

WORKERS = (1, 2, 4)
LATENCY_S = 0.2
"""Seconds each scripted model call takes, standing in for a provider's latency."""

AGENDA = """
[run]
name = "bench-{i}"

[models]
default = "scripted:schema"

[models.providers.scripted]
latency_s = {latency}
concurrency = 2

[pipeline]
ideas_per_topic = 1
idea_framings = 2
proposals = 1

[execution]
max_iterations = 1

[[topics]]
name = "Topic {i}"
testbeds = ["reward_hacking"]
"""


def _cores() -> int:
    return len(os.sched_getaffinity(0))


@contextmanager
def _database(pg_admin: str | None, folder: Path, name: str) -> Iterator[str]:
    """A fresh, migrated database; dropped afterwards when it is a PostgreSQL one."""
    if pg_admin is None:
        url = f"sqlite:///{folder / f'{name}.db'}"
        Store.open(url).close()
        yield url
        return
    admin_url = make_url(pg_admin).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    db = f"autoalign_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    try:
        url = admin_url.set(database=db).render_as_string(hide_password=False)
        Store.open(url).close()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


def _start_workers(url: str, n: int, kinds: str, cwd: Path) -> list[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("AUTOALIGN_DB", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "autoalign", "--db", url, "worker", "--kinds", kinds,
             "--poll", "0.1"],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        for _ in range(n)
    ]
    for proc in procs:  # each prints a banner once it is ready to claim
        assert proc.stdout is not None
        proc.stdout.readline()
    return procs


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.communicate(timeout=120)


def _count(url: str, query: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _timed(url: str, n: int, kinds: str, cwd: Path, enqueue: Callable[[Store], int]) -> float:
    """Seconds from queueing the work until every item is done, with `n` workers."""
    procs = _start_workers(url, n, kinds, cwd)
    try:
        with Store.open(url) as store:
            started = time.perf_counter()
            items = enqueue(store)
            while _count(url, "SELECT count(*) FROM work_items WHERE state IN "
                         "('done', 'failed')") < items:
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
        failed = _count(url, "SELECT count(*) FROM work_items WHERE state = 'failed'")
        if failed:
            raise RuntimeError(f"{failed} work item(s) failed; run a worker by hand to see why")
        return elapsed
    finally:
        _stop(procs)


def _projects(k: int, folder: Path) -> Callable[[Store], int]:
    from autoalign.agenda import load_agenda
    from autoalign.cluster import submit_agenda

    paths = []
    for i in range(k):
        path = folder / f"bench-{i}.toml"
        path.write_text(AGENDA.format(i=i, latency=LATENCY_S))
        paths.append(path)

    def enqueue(store: Store) -> int:
        for path in paths:
            submit_agenda(load_agenda(path), store=store)
        return k

    return enqueue


def _sandbox_jobs(j: int) -> Callable[[Store], int]:
    def enqueue(store: Store) -> int:
        for seed in range(j):
            spec = ExperimentSpec(testbed="reward_hacking", seeds=[seed])
            job = Job(kind="spec", payload=spec.model_dump_json(), limits=Limits(wall_s=120))
            store.enqueue_work(kind=WorkKind.SANDBOX, key=job_key(job, run_id=None),
                               payload=job_payload(job))
        return j

    return enqueue


def _rows(name: str, unit: str, rates: dict[int, float]) -> list[dict[str, object]]:
    base = rates[WORKERS[0]]
    rows: list[dict[str, object]] = []
    for n, value in rates.items():
        ratio = value / base if base else 0.0
        target = 0.7 * min(n, _cores())
        rows.append({
            "name": f"{name}, {n} worker{'s' if n > 1 else ''}", "value": round(value, 3),
            "unit": unit, "baseline": round(base, 3), "ratio": round(ratio, 2),
            "target": round(max(target, 1.0 if n == 1 else target), 2),
            "ok": n == 1 or ratio >= target,
        })
    return rows


def measure(quick: bool, *, pg_admin: str | None = None) -> list[dict[str, object]]:
    """Calls per second and sandbox runs per second for 1, 2 and 4 workers; baseline 1 worker.

    Each row: name, value, unit, baseline (the 1-worker value), ratio (value / baseline),
    target (70% of linear scaling up to the cores), ok.
    """
    projects = 4 if quick else 8
    jobs = 8 if quick else 24
    calls: dict[int, float] = {}
    runs: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in WORKERS:
            with _database(pg_admin, folder, f"projects-{n}") as url:
                seconds = _timed(url, n, "project", folder, _projects(projects, folder))
                paid = _count(url, "SELECT count(*) FROM llm_calls WHERE NOT cache_hit")
                calls[n] = paid / seconds
            with _database(pg_admin, folder, f"sandbox-{n}") as url:
                seconds = _timed(url, n, "sandbox", folder, _sandbox_jobs(jobs))
                runs[n] = jobs / seconds
    return (_rows(f"model calls ({projects} projects, {LATENCY_S:g}s latency)", "calls/s", calls)
            + _rows(f"sandbox runs ({jobs} jobs)", "runs/s", runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer projects and jobs")
    parser.add_argument("--pg", metavar="ADMIN_URL", default=None,
                        help="measure on PostgreSQL (a role that may CREATE DATABASE)")
    args = parser.parse_args()
    rows = measure(args.quick, pg_admin=args.pg)
    where = "PostgreSQL" if args.pg else "SQLite"
    print(f"{where}, {_cores()} cores, scripted models at {LATENCY_S:g}s per call\n")
    print(f"{'measure':<52} {'value':>9} {'unit':<8} {'ratio':>6} {'target':>6}  ok")
    for r in rows:
        print(f"{r['name']!s:<52} {r['value']!s:>9} {r['unit']!s:<8} {r['ratio']!s:>6} "
              f"{r['target']!s:>6}  {'yes' if r['ok'] else 'NO'}")


if __name__ == "__main__":
    main()
