"""What a run record keeps: cut output with full sizes, produced files, and its stored artifact."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoalign.experiments import SANDBOX_RUN_KIND as ARTIFACT_KIND
from autoalign.experiments import record_sandbox_run
from autoalign.sandbox import (
    IsolationLevel,
    Limits,
    SandboxRun,
    describe_run,
    run_code,
)
from autoalign.store import Store

from .helpers import where


def test_stdout_over_the_limit_is_cut_and_its_full_size_recorded(best: IsolationLevel) -> None:
    code = (
        "import sys\n"
        "sys.stdout.write('HEAD' + 'a' * 200_000 + 'TAIL')\n"
        "sys.stderr.write('e' * 50)\n"
    )
    run = run_code(code, limits=Limits(max_output_bytes=1000))

    assert run.exit_code == 0, where(run)
    assert run.stdout_bytes == 200_008
    assert run.stdout.startswith("HEAD" + "a" * 496)
    assert run.stdout.endswith("a" * 496 + "TAIL")
    assert "199008 bytes omitted; 200008 bytes in all" in run.stdout
    assert len(run.stdout) < 1100
    assert run.stderr == "e" * 50 and run.stderr_bytes == 50  # under the limit: kept whole
    print(f"isolation {best}: 200008 bytes of stdout kept as {len(run.stdout)} characters")


def test_produced_files_are_listed_with_size_and_sha256(best: IsolationLevel) -> None:
    blob = bytes(range(256)) * 40
    code = (
        "import os\n"
        "os.makedirs('figures/raw')\n"
        "open('notes.txt', 'w').write('effect looks real\\n')\n"
        f"open('figures/raw/data.bin', 'wb').write({blob!r})\n"
        "open('figures/big.csv', 'w').write('x,y\\n' * 5000)\n"
        "os.symlink('/etc/passwd', 'passwd-link')\n"
    )
    run = run_code(code, limits=Limits(max_file_text_bytes=100))

    assert run.exit_code == 0, where(run)
    listed = {f.path: f for f in run.files}
    assert sorted(listed) == ["figures/big.csv", "figures/raw/data.bin", "notes.txt"], where(run)
    data = listed["figures/raw/data.bin"]
    assert data.size == len(blob) and data.sha256 == hashlib.sha256(blob).hexdigest()
    assert data.text is None  # binary
    assert listed["notes.txt"].text == "effect looks real\n"  # small text keeps its content
    assert listed["figures/big.csv"].text is None  # over max_file_text_bytes
    assert listed["figures/big.csv"].size == 20_000
    print(f"isolation {best}: files {sorted(listed)} (the symlink is not followed)")


def test_a_failing_workers_traceback_shows_its_own_code(best: IsolationLevel) -> None:
    run = run_code("x = 1\nraise ValueError(f'boom {x}')\n")
    assert run.exit_code == 1 and run.killed_by is None, where(run)
    assert run.stderr.startswith("Traceback (most recent call last):\n"), where(run)
    assert 'File "<sandbox-code>", line 2' in run.stderr
    assert "raise ValueError(f'boom {x}')" in run.stderr  # the source line is shown
    assert "_child.py" not in run.stderr  # the runner's own frames are not
    assert run.stderr.rstrip().endswith("ValueError: boom 1")

    broken = run_code("def f(:\n    pass\n")
    assert broken.exit_code == 203 and "SyntaxError" in broken.stderr, where(broken)
    assert "_child.py" not in broken.stderr
    print(f"isolation {best}: worker tracebacks point at the worker's code")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/db.sqlite") as opened:
        yield opened


def test_record_run_stores_a_sandbox_run_artifact(best: IsolationLevel, store: Store) -> None:
    run_id = store.create_run(name="sandbox test", agenda_digest="abc", config={}).id
    parent = store.add_artifact(run_id=run_id, kind="task_spec", stage="execute")
    sandbox_run = run_code(
        "print('hello from inside')\nopen('out.txt', 'w').write('42')\n",
        limits=Limits(wall_s=10),
    )

    artifact = record_sandbox_run(
        store, run_id=run_id, sandbox_run=sandbox_run, stage="execute", parents=[parent.id],
        step_key="exec/0",
    )

    stored = store.artifact(artifact.id)
    assert (stored.kind, stored.stage, stored.status) == (ARTIFACT_KIND, "execute", "ok")
    assert SandboxRun.model_validate(stored.content_json) == sandbox_run
    for text in (f"isolation: {best}", "Exit code: 0", "killed by: nothing", "hello from inside"):
        assert text in stored.content_text, stored.content_text
    assert "out.txt (2 bytes" in stored.content_text
    assert "Not enforced:" in stored.content_text
    assert [e.parent_id for e in store.parents(artifact.id)] == [parent.id]
    # The same step again is not stored twice.
    again = record_sandbox_run(
        store, run_id=run_id, sandbox_run=sandbox_run, stage="execute", step_key="exec/0"
    )
    assert again.id == artifact.id
    assert len(store.artifacts(run_id=run_id, kind=ARTIFACT_KIND)) == 1
    print(f"isolation {best}: stored as artifact {artifact.id}\n{stored.content_text}")


def test_a_killed_run_is_stored_as_failed_and_says_why(best: IsolationLevel, store: Store) -> None:
    sandbox_run = run_code("while True:\n    pass\n", limits=Limits(cpu_s=1))

    artifact = record_sandbox_run(store, run_id=None, sandbox_run=sandbox_run, stage="execute")

    assert artifact.status == "failed"
    assert "killed by: cpu_limit" in artifact.content_text
    assert artifact.title is not None and "cpu_limit" in artifact.title


def test_non_finite_numbers_survive_storage(best: IsolationLevel, store: Store) -> None:
    code = (
        "from autoalign.sandbox.report import report\n"
        "from autoalign.testbeds import ExperimentSpec, run_spec\n"
        "report(run_spec(ExperimentSpec(testbed='reward_hacking', seeds=[0])))\n"
    )
    sandbox_run = run_code(code)
    assert sandbox_run.result is not None, where(sandbox_run)
    assert all(math.isnan(v) for v in sandbox_run.result["se"].values())  # one seed: NaN SE

    artifact = record_sandbox_run(store, run_id=None, sandbox_run=sandbox_run, stage="execute")

    stored = SandboxRun.model_validate(store.artifact(artifact.id).content_json)
    assert stored.result is not None
    assert set(stored.result["se"].values()) == {"NaN"}


def test_the_sandbox_describes_a_run_and_the_caller_picks_stage_and_kind(
    best: IsolationLevel, store: Store
) -> None:
    sandbox_run = run_code("print('described')\n", limits=Limits(wall_s=10))
    described = describe_run(sandbox_run)
    assert described.ok and "described" in described.text
    assert described.title == f"sandbox code run ({best}, exit 0)"
    assert SandboxRun.model_validate(described.content) == sandbox_run

    artifact = record_sandbox_run(
        store, run_id=None, sandbox_run=sandbox_run, stage="writeup", kind="replication_run"
    )
    stored = store.artifact(artifact.id)
    assert (stored.stage, stored.kind, stored.title) == ("writeup", "replication_run",
                                                         described.title)
    assert stored.content_text == described.text


def test_the_sandbox_package_does_not_know_the_store_or_the_pipeline() -> None:
    """The sandbox knows no database and no pipeline vocabulary: storing is the caller's job."""
    import ast

    import autoalign.sandbox

    package = Path(autoalign.sandbox.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                assert not module.lstrip(".").startswith(("store", "pipeline", "experiments")), (
                    source.name, module)
                assert "autoalign.store" not in module and "autoalign.pipeline" not in module
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in ("execute", "sandbox_run"), (source.name, node.value)
