"""`autoalign submit` and `autoalign worker` processes on one database (SQLite, and PostgreSQL as
a cluster would use it): the same research as one `autoalign run`, a worker killed with SIGKILL
is taken over with no paid call repeated, SIGTERM gives the work back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from ..conftest import PG_URL_ENV, _fresh_pg_database
from .helpers import invoke, one_error_line

AGENDA = """
[run]
name = "{name}"

[models]
default = "scripted:schema"

[models.providers.scripted]
latency_s = {latency}
concurrency = 2

[pipeline]
ideas_per_topic = 1
idea_framings = 2
proposals = 1

[[topics]]
name = "{topic}"
"""

VOLATILE = {"wall_s", "cpu_s", "max_rss_mb", "files", "seconds"}
"""Fields of a sandbox record that differ between two runs of the same job (timings, and the
result file whose text holds them)."""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("AUTOALIGN_DB", None)
    env["COLUMNS"] = "200"
    return env


def _cli(db_url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoalign", "--db", db_url, *args],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600,
    )


def _worker(db_url: str, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoalign", "--db", db_url, "worker", "--poll", "0.2", *args],
        cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _agenda(tmp_path: Path, name: str, *, latency: float, topic: str = "Reward hacking") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(AGENDA.format(name=name, latency=latency, topic=topic))
    return path


def _sql(db_url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def _stable(value: Any) -> Any:
    """JSON content with a sandbox record's timings left out."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _research(db_url: str, name: str) -> dict[str, Any]:
    """What a run of the agenda `name` produced: artifacts by step key (kind and content),
    ledger calls by step key, and claims."""
    ((run_id, status),) = _sql(db_url, "SELECT id, status FROM runs WHERE name = :n", n=name)
    artifacts = {
        key: (kind, None if kind == "sandbox_run" else body,
              # SQLite hands JSON columns back as text to a plain query; PostgreSQL decoded.
              _stable(json.loads(data) if db_url.startswith("sqlite") and data else data))
        for key, kind, body, data in _sql(
            db_url, "SELECT step_key, kind, content_text, content_json FROM artifacts "
            "WHERE run_id = :r", r=run_id)
    }
    ledger = Counter(_sql(
        db_url, "SELECT step_key, cache_key, cache_hit FROM llm_calls WHERE run_id = :r",
        r=run_id))
    claims = sorted(_sql(
        db_url, "SELECT c.text, c.effect, c.ci_low, c.ci_high, c.probability, c.testbed, "
        "c.question_id, c.source FROM claims c JOIN artifacts a ON a.id = c.artifact_id "
        "WHERE a.run_id = :r", r=run_id), key=repr)
    return {"status": status, "artifacts": artifacts, "ledger": ledger, "claims": claims}


def _paid_steps(research: dict[str, Any]) -> Counter[str]:
    """How many paid (not cached) calls each step key made, from `_research`'s ledger."""
    paid: Counter[str] = Counter()
    for (step_key, _, hit), n in research["ledger"].items():
        if not hit:
            paid[step_key] += n
    return paid


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON-like values differ, for an assertion message."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys(), key=str)
                for d in _differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _assert_same_research(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    """The same steps (each of the same kind), the same calls per step, the same claims.

    Artifact ids are assigned as steps finish, and concurrent steps finish in a different order
    in another process (stage 1 and the write-up name ids in contents and prompts: sources,
    related work, selections). So contents and cache keys, which carry ids, are not compared;
    the claims, which carry the research's numbers, are.
    """
    kinds = {k: a[0] for k, a in mine["artifacts"].items()}
    assert kinds == {k: a[0] for k, a in theirs["artifacts"].items()}, _differences(
        kinds, {k: a[0] for k, a in theirs["artifacts"].items()})
    calls = Counter((step, hit) for (step, _key, hit), n in mine["ledger"].items()
                    for _ in range(n))
    assert calls == Counter((step, hit) for (step, _key, hit), n in theirs["ledger"].items()
                            for _ in range(n))
    assert mine["claims"] == theirs["claims"] and mine["claims"]


def _assert_nothing_twice(db_url: str) -> None:
    paid_twice = _sql(
        db_url, "SELECT run_id, cache_key, count(*) FROM llm_calls WHERE NOT cache_hit "
        "GROUP BY run_id, cache_key HAVING count(*) > 1")
    assert paid_twice == []
    stored_twice = _sql(
        db_url, "SELECT run_id, step_key, count(*) FROM artifacts WHERE step_key IS NOT NULL "
        "GROUP BY run_id, step_key HAVING count(*) > 1")
    assert stored_twice == []


def _finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture
def reference_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as `db_url`, for a single-process reference run
    (PostgreSQL's JSONB orders object keys its own way, which a stage's output reflects)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    yield from _fresh_pg_database(os.environ[PG_URL_ENV])


def test_two_workers_do_the_research_one_run_does(
    db_url: str, reference_url: str, tmp_path: Path
) -> None:
    # One model call at a time, so that artifacts get the same ids in both databases (their
    # contents cite one another by id).
    agenda = _agenda(tmp_path, "alpha", latency=0.05).read_text().replace(
        "concurrency = 2", "concurrency = 1")
    path = tmp_path / "alpha.toml"
    path.write_text(agenda)
    reference = reference_url
    done = _cli(reference, "run", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    queued = _cli(db_url, "submit", str(path), cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr
    assert "new run 1 (alpha) is work item 1" in queued.stdout
    again = _cli(db_url, "submit", str(path), cwd=tmp_path)
    assert again.returncode == 0 and "queued run 1 (alpha) is work item 1" in again.stdout

    workers = [_worker(db_url, "--idle-exit", "3", cwd=tmp_path) for _ in range(2)]
    results = [_finish(w) for w in workers]
    for code, _, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    lines = [line for _, out, _ in results for line in out.splitlines() if " item " in line]
    assert len(lines) == 1, lines  # claimed once, by one of the two
    assert lines[0].split()[:6] == ["done", "item", "1", "project", "run", "1"]
    assert "completed" in lines[0]

    mine, theirs = _research(db_url, "alpha"), _research(reference, "alpha")
    assert mine["status"] == theirs["status"] == "completed"
    _assert_same_research(mine, theirs)
    assert _sql(db_url, "SELECT state, attempts FROM work_items") == [("done", 1)]
    _assert_nothing_twice(db_url)


def _holder_pid(db_url: str) -> int | None:
    try:
        rows = _sql(db_url, "SELECT owner FROM work_items WHERE state = 'claimed'")
    except OperationalError:  # SQLite busy for an instant
        return None
    return int(str(rows[0][0]).split(":")[1]) if rows else None


def _calls(db_url: str) -> int:
    try:
        return int(_sql(db_url, "SELECT count(*) FROM llm_calls")[0][0])
    except OperationalError:
        return 0


def test_a_worker_killed_mid_run_is_taken_over_without_paying_twice(
    db_url: str, reference_url: str, tmp_path: Path
) -> None:
    agenda = _agenda(tmp_path, "killed", latency=0.2)
    reference = reference_url
    assert _cli(reference, "run", str(agenda), cwd=tmp_path).returncode == 0
    assert _cli(db_url, "submit", str(agenda), cwd=tmp_path).returncode == 0

    workers = [_worker(db_url, "--lease", "3", cwd=tmp_path) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while (pid := _holder_pid(db_url)) is None or _calls(db_url) < 3:
            assert time.monotonic() < deadline, "no worker made progress"
            time.sleep(0.05)
        victim = next(w for w in workers if w.pid == pid)
        survivor = next(w for w in workers if w.pid != pid)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        assert victim.returncode == -signal.SIGKILL

        deadline = time.monotonic() + 300
        while _sql(db_url, "SELECT status FROM runs") != [("completed",)]:
            assert time.monotonic() < deadline, "the surviving worker did not finish the run"
            assert survivor.poll() is None, survivor.communicate()
            time.sleep(0.2)
        survivor.send_signal(signal.SIGTERM)
        code, out, err = _finish(survivor, timeout=120)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert code == 0, err
    assert "done item 1 project run 1 (killed)" in " ".join(out.split())
    ((state, attempts, owner),) = _sql(db_url, "SELECT state, attempts, owner FROM work_items")
    assert (state, attempts, owner) == ("done", 2, None)
    _assert_nothing_twice(db_url)
    mine, theirs = _research(db_url, "killed"), _research(reference, "killed")
    assert {k: a[0] for k, a in mine["artifacts"].items()} == {
        k: a[0] for k, a in theirs["artifacts"].items()}
    # The same steps were paid for, each as often as in one process (the ledger's rows by
    # step key).
    assert _paid_steps(mine) == _paid_steps(theirs)
    if db_url.startswith("sqlite"):
        # And for the same prompts. Not so on PostgreSQL when the kill lands inside a write:
        # the open insert took an id from the sequence that nothing stores, every later
        # artifact's id is one higher than the reference's, and prompts cite artifacts by id.
        paid = {key for (_, key, hit) in mine["ledger"] if not hit}
        assert paid == {key for (_, key, hit) in theirs["ledger"] if not hit}


def test_sigterm_gives_the_run_back_at_once(db_url: str, tmp_path: Path) -> None:
    agenda = _agenda(tmp_path, "stopped", latency=0.3)
    assert _cli(db_url, "submit", str(agenda), cwd=tmp_path).returncode == 0
    worker = _worker(db_url, "--lease", "600", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while _calls(db_url) < 2:
            assert time.monotonic() < deadline, "the worker made no progress"
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        code, out, err = _finish(worker, timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert code == 0, err
    assert "released item 1 project run 1 (stopped)" in " ".join(out.split())
    # Back in the queue at once (no 600 s lease to wait out), the run stopped and unowned.
    assert _sql(db_url, "SELECT state, owner, attempts FROM work_items") == [("queued", None, 0)]
    ((status, owner, reason),) = _sql(db_url, "SELECT status, owner, stop_reason FROM runs")
    assert (status, owner) == ("stopped", None) and "interrupted" in reason

    # Another worker resumes it to the end.
    resumed = _cli(db_url, "worker", "--once", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _sql(db_url, "SELECT status FROM runs") == [("completed",)]
    _assert_nothing_twice(db_url)


def test_a_database_it_cannot_reach_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = invoke("worker", "--db", "postgresql://autoalign:pw@127.0.0.1:1/nowhere",
                    cwd=tmp_path)
    line = one_error_line(result)
    assert "127.0.0.1" in line and "pw" not in line


def test_unknown_kinds_are_refused(tmp_path: Path) -> None:
    result = invoke("worker", "--kinds", "project,bogus", cwd=tmp_path)
    assert "unknown kind 'bogus'" in one_error_line(result)
    assert not (tmp_path / ".autoalign").exists()


@pytest.fixture
def ray_address() -> Iterator[str]:
    """A local Ray instance that worker processes join by its address."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()


def test_two_workers_and_ray_do_the_research_one_run_does(
    db_url: str, reference_url: str, tmp_path: Path, ray_address: str
) -> None:
    # The reference runs its experiments in this machine's pool; the workers send theirs to the
    # Ray instance (a worker that cannot join it fails the run). `[sandbox]` is not part of the
    # agenda's identity: the same jobs give the same records on either backend.
    text_ = _agenda(tmp_path, "gamma", latency=0.05).read_text().replace(
        "concurrency = 2", "concurrency = 1")
    local = tmp_path / "local.toml"
    local.write_text(text_)
    on_ray = tmp_path / "ray.toml"
    on_ray.write_text(text_ + f'\n[sandbox]\nbackend = "ray"\nray_address = "{ray_address}"\n')
    done = _cli(reference_url, "run", str(local), cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    queued = _cli(db_url, "submit", str(on_ray), cwd=tmp_path)
    assert queued.returncode == 0, queued.stderr
    workers = [_worker(db_url, "--idle-exit", "3", cwd=tmp_path) for _ in range(2)]
    results = [_finish(w) for w in workers]
    for code, _, err in results:
        assert code == 0, err

    mine, theirs = _research(db_url, "gamma"), _research(reference_url, "gamma")
    assert mine["status"] == theirs["status"] == "completed"
    runs = [k for k, (kind, _, _) in mine["artifacts"].items() if kind == "sandbox_run"]
    assert runs, "the agenda ran no experiment"
    _assert_same_research(mine, theirs)
    _assert_nothing_twice(db_url)
