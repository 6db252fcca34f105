"""`autoalign run` against an OpenAI-compatible server on the loopback interface that fails:
the run fails (not stops), nothing bad is cached, and a re-run after the server recovers
completes; a request in flight at a SIGKILL is in the ledger as unfinished."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic_ai.models.test import _JsonSchemaTestData

from tests.models.stub_openai import Fault, StubServer

from .test_cli import cli

AGENDA = """
[run]
name = "faults"

[models]
default = "openai:stub"
max_retries = 2
backoff_base_s = 0.01
backoff_max_s = 0.02

[models.providers.openai]
base_url = "{base_url}"
timeout_s = {timeout_s}
concurrency = 1

[pipeline]
ideas_per_topic = 1
idea_framings = 1
proposals = 1
cases_per_topic = 1   # one ask in flight when the fault ends the run

[[topics]]
name = "Reward hacking"
"""


def schema_answer(body: dict[str, Any]) -> str:
    """Minimal data valid against the JSON schema the request asks for."""
    schema = body["response_format"]["json_schema"]["schema"]
    return json.dumps(_JsonSchemaTestData(schema).generate())


def write_agenda(tmp_path: Path, server: StubServer, timeout_s: float = 5.0) -> Path:
    path = tmp_path / "agenda.toml"
    path.write_text(AGENDA.format(base_url=server.base_url, timeout_s=timeout_s))
    return path


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_html_from_the_server_fails_the_run_and_a_rerun_completes(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with StubServer(Fault("html"), answer=schema_answer) as server:
        agenda = write_agenda(tmp_path, server)
        first = cli("run", str(agenda), cwd=tmp_path, db=db)
        assert first.returncode == 4, first.stdout + first.stderr  # the run failed
        assert "garbled response" in first.stderr  # the reason goes to stderr
        assert "Traceback" not in first.stderr
        [(status, reason)] = query(db, "SELECT status, stop_reason FROM runs")
        assert status == "failed"
        assert "garbled response" in reason and "gave up after 3 attempts" in reason
        assert query(db, "SELECT count(*) FROM llm_cache") == [(0,)]
        assert query(db, "SELECT status, count(*) FROM llm_attempts GROUP BY status") == [
            ("failed", 3)
        ]
        assert len(server.requests) == 3

        server.recover()
        second = cli("run", str(agenda), cwd=tmp_path, db=db)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "resumed: status completed" in second.stdout
        assert len(server.requests) > 3  # the failed ask was sent again, not read from a cache
    assert query(db, "SELECT status FROM runs") == [("completed",)]
    assert query(db, "SELECT count(*) FROM llm_attempts WHERE status = 'pending'") == [(0,)]


def test_a_request_in_flight_at_sigkill_is_counted_as_unfinished(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    with StubServer(Fault("hang"), answer=schema_answer) as server:
        agenda = write_agenda(tmp_path, server, timeout_s=60)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "autoalign", "--db", f"sqlite:///{db}", "run", str(agenda)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while not server.requests:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no request reached the server"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        # The request reached the provider and never answered: it is in the ledger, unfinished,
        # and counts against the budget at its estimate.
        [(status, est)] = query(db, "SELECT status, est_tokens FROM llm_attempts")
        assert status == "pending" and est > 0
        assert query(db, "SELECT count(*) FROM llm_calls") == [(0,)]
        shown = cli("status", cwd=tmp_path, db=db)
        assert "1 unfinished" in shown.stdout, shown.stdout

        server.recover()
        resumed = cli("run", str(agenda), cwd=tmp_path, db=db)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert "resumed: status completed" in resumed.stdout
    # the killed request stays on the books; every later one finished
    assert query(db, "SELECT status, count(*) FROM llm_attempts GROUP BY status") == [
        ("answered", len(server.requests) - 1),
        ("pending", 1),
    ]


def test_the_waiting_line_names_the_call_that_waits_longest() -> None:
    from autoalign.cli import waiting_line
    from autoalign.models import CallEvent

    def waiting(call: int, waited_s: float, attempt: int = 1) -> CallEvent:
        return CallEvent(
            kind="waiting", call=call, model="openai:gpt-4o", role=f"critic-{call}",
            step_key=f"examine/critic-{call}", attempt=attempt, max_attempts=5, waited_s=waited_s,
        )

    assert waiting_line([waiting(2, 12.4)]) == (
        "waiting 12s for openai:gpt-4o (critic-2, step examine/critic-2)"
    )
    assert waiting_line([waiting(1, 3.0), waiting(2, 7.0, attempt=2)]) == (
        "waiting 7s for openai:gpt-4o (critic-2, step examine/critic-2, attempt 2/5) (+1 more)"
    )
