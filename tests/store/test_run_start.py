"""Starting a run is atomic: processes released at the same instant never both execute one run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoalign.store import Store

# Each child opens the database, says "ready", spins until the go file appears (so all of them
# call start_run within about a millisecond), prints what start_run decided, and keeps any run it
# owns until the done file appears, so that the owners are alive while the others decide.
_CHILD = """
import os, sys, time
from autoalign.errors import RunBusyError
from autoalign.store import Store

url, go, done, digest, new = sys.argv[1:6]
store = Store.open(url)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.0002)
try:
    start = store.start_run(name="r", agenda_digest=digest, config={}, new=new == "new")
    print(start.outcome, start.run.id, start.run.seed, flush=True)
    while not os.path.exists(done):
        time.sleep(0.01)
except RunBusyError as exc:
    print("busy", exc, flush=True)
"""

N = 6


def _race(db_url: str, tmp_path: Path, digests: list[str], *, new: bool = False) -> list[str]:
    """Release one child per digest at once; return the line each printed."""
    go, done = tmp_path / "go", tmp_path / "done"
    Store.open(db_url).close()  # migrate once, so the children race on the run, not the schema
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, db_url, str(go), str(done), digest,
             "new" if new else "resume"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for digest in digests
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr
        go.touch()
        lines = []
        for child in children:
            assert child.stdout is not None
            lines.append(child.stdout.readline().strip())
        done.touch()
        for child in children:
            assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
        return lines
    finally:
        done.touch()
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_one_agenda_started_at_once_runs_once(db_url: str, tmp_path: Path) -> None:
    lines = _race(db_url, tmp_path, ["same"] * N)
    outcomes = sorted(line.split()[0] for line in lines)
    assert outcomes == ["busy"] * (N - 1) + ["created"], lines
    assert all("is being executed by process" in line for line in lines if line.startswith("busy"))
    with Store.open(db_url) as store:
        runs = store.list_runs()
    assert len(runs) == 1 and runs[0].status == "running"


def test_different_agendas_started_at_once_each_get_a_run(db_url: str, tmp_path: Path) -> None:
    lines = _race(db_url, tmp_path, [f"agenda-{i}" for i in range(N)])
    assert sorted(line.split()[0] for line in lines) == ["created"] * N, lines
    with Store.open(db_url) as store:
        assert len({r.id for r in store.list_runs()}) == N


def test_fresh_runs_of_one_agenda_started_at_once_get_distinct_seeds(
    db_url: str, tmp_path: Path
) -> None:
    """`--new` asks for another sample: runs may proceed side by side, never with one seed."""
    lines = _race(db_url, tmp_path, ["same"] * N, new=True)
    assert sorted(line.split()[0] for line in lines) == ["created"] * N, lines
    assert sorted(int(line.split()[2]) for line in lines) == list(range(N))


def test_a_finished_run_is_released_and_resumed(store: Store) -> None:
    first = store.start_run(name="r", agenda_digest="d", config={})
    assert first.outcome == "created"
    store.set_run_status(first.run.id, "stopped", reason="budget")
    again = store.start_run(name="r", agenda_digest="d", config={}, budget_tokens=10)
    assert again.outcome == "resumed" and again.run.id == first.run.id
    assert again.run.status == "running" and again.run.stop_reason is None
    assert again.run.budget_tokens == 10
    store.set_run_status(first.run.id, "completed")
    done = store.start_run(name="r", agenda_digest="d", config={})
    assert done.outcome == "completed" and done.run.owner is None
    with pytest.raises(ValueError, match="only through start_run"):
        store.set_run_status(first.run.id, "running")


def test_a_mix_of_agendas_started_at_once(db_url: str, tmp_path: Path) -> None:
    """Three agendas, two processes each: one run per agenda, one process refused per agenda."""
    digests = [f"agenda-{i % 3}" for i in range(N)]
    lines = _race(db_url, tmp_path, digests)
    created = [d for d, line in zip(digests, lines, strict=True) if line.startswith("created")]
    busy = [d for d, line in zip(digests, lines, strict=True) if line.startswith("busy")]
    assert sorted(created) == sorted(busy) == ["agenda-0", "agenda-1", "agenda-2"], lines
