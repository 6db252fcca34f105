"""Many `autoalign run` processes on one database at once, and repeated SIGKILLs with resumes.

The invariants, on SQLite and PostgreSQL: one run per agenda, executed by one process (the others
are refused with one line, or find it completed); no run left `running`; within a run, no model
answer paid for twice and no step stored twice; and agendas that share a prompt (hence a cache
key) never crash on the shared cache entry.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from autoalign.store import Store

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
name = "Reward hacking"
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("AUTOALIGN_DB", None)
    env["COLUMNS"] = "200"
    return env


def _launch(db_url: str, agenda: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoalign", "--db", db_url, "run", str(agenda)],
        cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _agenda(tmp_path: Path, name: str, latency: float) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(AGENDA.format(name=name, latency=latency))
    return path


def _sql(db_url: str, query: str) -> list[tuple[object, ...]]:
    url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _assert_invariants(db_url: str) -> None:
    assert _sql(db_url, "SELECT id FROM runs WHERE status <> 'completed'") == []
    paid_twice = _sql(
        db_url,
        "SELECT run_id, cache_key, count(*) FROM llm_calls WHERE NOT cache_hit "
        "GROUP BY run_id, cache_key HAVING count(*) > 1",
    )
    assert paid_twice == []
    stored_twice = _sql(
        db_url,
        "SELECT run_id, step_key, count(*) FROM artifacts WHERE step_key IS NOT NULL "
        "GROUP BY run_id, step_key HAVING count(*) > 1",
    )
    assert stored_twice == []


def test_processes_launched_together_on_one_database(db_url: str, tmp_path: Path) -> None:
    Store.open(db_url).close()
    same = _agenda(tmp_path, "same", latency=0.05)
    others = [_agenda(tmp_path, f"other-{i}", latency=0.05) for i in range(3)]
    procs = [_launch(db_url, same, tmp_path) for _ in range(3)]
    procs += [_launch(db_url, agenda, tmp_path) for agenda in others]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]

    same_results, other_results = results[:3], results[3:]
    ran = [r for r in same_results if r[0] == 0 and "ran: status completed" in r[1]]
    assert len(ran) == 1, same_results
    for code, stdout, stderr in same_results:
        if (code, stdout, stderr) in ran:
            continue
        refused = code == 1 and "is being executed by process" in stderr
        late = code == 0 and "already completed" in stdout
        assert refused or late, (code, stdout, stderr)
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1
    for code, stdout, stderr in other_results:
        assert code == 0, stderr
        assert "ran: status completed" in stdout
        assert "IntegrityError" not in stderr

    names = Counter(name for (name,) in _sql(db_url, "SELECT name FROM runs"))
    assert names == Counter({"same": 1, "other-0": 1, "other-1": 1, "other-2": 1})
    _assert_invariants(db_url)


def _ledger_rows(db_url: str) -> int:
    try:
        return int(str(_sql(db_url, "SELECT count(*) FROM llm_calls")[0][0]))
    except OperationalError:  # SQLite may be busy for an instant while the run writes
        return 0


def test_repeated_sigkills_at_random_moments_lose_nothing(db_url: str, tmp_path: Path) -> None:
    """Kill the run at random moments, resume after each kill, and compare with a clean run."""
    agenda = _agenda(tmp_path, "killed", latency=0.15)
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    reference = _launch(reference_url, agenda, tmp_path)
    assert reference.wait(timeout=300) == 0, reference.communicate()

    rng = random.Random(20261129)
    Store.open(db_url).close()
    kills = 0
    for _ in range(5):
        proc = _launch(db_url, agenda, tmp_path)
        before = _ledger_rows(db_url)
        # Wait until this attempt made progress, then a random extra moment, then kill.
        deadline = time.monotonic() + 60
        while _ledger_rows(db_url) <= before and proc.poll() is None:
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        if proc.poll() is not None:
            break  # it finished before the kill
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= 2, "the run finished too fast to be killed; raise the latency"

    final = _launch(db_url, agenda, tmp_path)
    code, stdout, stderr = final.wait(timeout=300), *final.communicate()
    assert code == 0, stderr
    assert "status completed" in stdout

    _assert_invariants(db_url)
    assert _sql(db_url, "SELECT count(*) FROM runs") == [(1,)]
    ref_paid = _sql(reference_url, "SELECT count(DISTINCT cache_key) FROM llm_calls")
    paid = _sql(db_url, "SELECT count(DISTINCT cache_key) FROM llm_calls WHERE NOT cache_hit")
    assert paid == ref_paid
    steps = sorted(str(r[0]) for r in _sql(db_url, "SELECT step_key FROM artifacts"))
    ref_steps = sorted(str(r[0]) for r in _sql(reference_url, "SELECT step_key FROM artifacts"))
    assert steps == ref_steps
