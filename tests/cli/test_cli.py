"""The real CLI: help lists only working commands, bad input exits 1 with a clear line, and a
run killed with SIGKILL resumes without repeating a call or duplicating an artifact."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCHEMA_AGENDA = """
[run]
name = "cli"

[models]
default = "scripted:schema"

[models.providers.scripted]
latency_s = {latency}
concurrency = 1

[pipeline]
ideas_per_topic = 1
idea_framings = 2
proposals = 1

[[topics]]
name = "Reward hacking"
"""


def cli(*args: str, cwd: Path, db: Path | None = None, timeout: float = 120) -> (
    subprocess.CompletedProcess[str]
):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.pop("AUTOALIGN_DB", None)
    env["COLUMNS"] = "200"
    prefix = ["--db", f"sqlite:///{db}"] if db else []
    return subprocess.run(
        [sys.executable, "-m", "autoalign", *prefix, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )


def write_agenda(tmp_path: Path, latency: float = 0.0) -> Path:
    path = tmp_path / "agenda.toml"
    path.write_text(SCHEMA_AGENDA.format(latency=latency))
    return path


def test_help_lists_the_working_commands(tmp_path: Path) -> None:
    out = cli("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("init", "run", "status", "show"):
        assert command in out.stdout
    show = cli("show", "--help", cwd=tmp_path)
    for sub in ("runs", "papers", "artifacts", "paper", "artifact"):
        assert sub in show.stdout


def test_init_creates_database_and_starter_agenda(tmp_path: Path) -> None:
    out = cli("init", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / ".autoalign" / "research.db").exists()
    assert (tmp_path / "agenda.toml").read_text() == (ROOT / "examples/quickstart.toml").read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[topics]]\nname = "x\n', "TOML syntax error"),
        ('[run]\nnmae = "x"\n[[topics]]\nname = "x"\n', "run.nmae: unknown key"),
        ('[budget]\nmax_tokens = "many"\n[[topics]]\nname = "x"\n', "budget.max_tokens"),
    ],
)
def test_malformed_agenda_exits_1_and_writes_nothing(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = cli("run", str(path), cwd=tmp_path)
    assert out.returncode == 1
    assert expected in out.stderr and "bad.toml" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / ".autoalign").exists()


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--db", "garbage", "status"], {}), (["status"], {"AUTOALIGN_DB": "::::"})],
)
def test_bad_database_url_in_a_real_process(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    out = subprocess.run(
        [sys.executable, "-m", "autoalign", *args], cwd=tmp_path, env={**base, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith("error: cannot parse the database URL")
    assert list(tmp_path.iterdir()) == []


def test_unknown_provider_lists_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[models]\ndefault = "nosuch:model"\n[[topics]]\nname = "x"\n')
    out = cli("run", str(path), cwd=tmp_path)
    assert out.returncode == 1
    for known in ("openai", "anthropic", "local", "scripted"):
        assert known in out.stderr
    assert not (tmp_path / ".autoalign").exists()


def test_missing_key_names_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[models]\ndefault = "anthropic:claude-x"\n[[topics]]\nname = "x"\n')
    out = cli("run", str(path), cwd=tmp_path)
    assert out.returncode == 1
    assert "ANTHROPIC_API_KEY" in out.stderr


def test_newer_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert cli("init", cwd=tmp_path, db=db).returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    out = cli("status", cwd=tmp_path, db=db)
    assert out.returncode == 1
    assert "newer" in out.stderr and "ffffffffffff" in out.stderr


def test_run_then_show(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    out = cli("run", str(write_agenda(tmp_path)), cwd=tmp_path, db=db)
    assert out.returncode == 0, out.stderr
    assert "status completed" in out.stdout
    assert "LLM calls: " in out.stdout
    listing = cli("show", cwd=tmp_path, db=db)
    assert "runs" in listing.stdout and "papers" in listing.stdout
    with sqlite3.connect(db) as conn:
        (paper_id,) = conn.execute("SELECT id FROM artifacts WHERE kind = 'paper'").fetchone()
    paper = cli("show", "paper", str(paper_id), cwd=tmp_path, db=db)
    assert paper.returncode == 0, paper.stderr
    text = paper.stdout
    order = [text.index(h) for h in ("abstract", "introduction", "main text", "appendix")]
    assert order == sorted(order)
    assert "summarises research_log" in text
    status = cli("status", cwd=tmp_path, db=db)
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM artifacts").fetchone()
    assert re.search(rf"completed\W+{stored}\W", status.stdout), status.stdout
    missing = cli("show", "paper", "99999", cwd=tmp_path, db=db)
    assert missing.returncode == 1 and "no artifact with id 99999" in missing.stderr


def _ledger_rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM llm_calls").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_run_resumes_without_repeating_calls(tmp_path: Path) -> None:
    """Kill the real process mid-run (two calls answered, the third in flight), then resume."""
    agenda = write_agenda(tmp_path, latency=0.4)
    reference_db = tmp_path / "reference.db"
    reference = cli("run", str(agenda), cwd=tmp_path, db=reference_db)
    assert reference.returncode == 0, reference.stderr

    db = tmp_path / "killed.db"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoalign", "--db", f"sqlite:///{db}", "run", str(agenda)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    # Calls run one at a time: the two positive cases, then their scores. Two ledger rows means
    # both cases are answered and a score's call is on its way.
    deadline = time.monotonic() + 60
    while _ledger_rows(db) < 2:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
        assert conn.execute(
            "SELECT count(*) FROM artifacts WHERE step_key LIKE 'propose/ideas/0/%'"
        ).fetchone() == (0,)
        stored_before = {r[0] for r in conn.execute("SELECT step_key FROM artifacts")}

    resumed = cli("run", str(agenda), cwd=tmp_path, db=db)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed: status completed" in resumed.stdout

    with sqlite3.connect(db) as conn, sqlite3.connect(reference_db) as ref:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        # No call was paid twice: each cache key has one paid ledger row ...
        paid = conn.execute(
            "SELECT cache_key, count(*) FROM llm_calls WHERE NOT cache_hit GROUP BY cache_key"
        ).fetchall()
        assert all(n == 1 for _, n in paid)
        ref_paid = ref.execute("SELECT count(*) FROM llm_calls WHERE NOT cache_hit").fetchone()
        assert (len(paid),) == ref_paid
        # ... and an answer that was paid for before the kill but not yet stored as its step
        # (if the kill fell between the two) came from the cache: never a stored step's.
        # Identical prompts within a run are cache hits in the reference run too.
        hits = Counter(r[0] for r in conn.execute(
            "SELECT step_key FROM llm_calls WHERE cache_hit"))
        ref_hits = Counter(r[0] for r in ref.execute(
            "SELECT step_key FROM llm_calls WHERE cache_hit"))
        extra = hits - ref_hits
        assert sum(extra.values()) <= 1 and not set(extra) & stored_before
        # No artifact is duplicated: the same steps as an uninterrupted run, once each.
        steps = sorted(r[0] for r in conn.execute("SELECT step_key FROM artifacts"))
        ref_steps = sorted(r[0] for r in ref.execute("SELECT step_key FROM artifacts"))
        assert steps == ref_steps and len(steps) == len(set(steps))
