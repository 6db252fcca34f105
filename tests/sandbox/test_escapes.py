"""Agent-written code tries to escape; every attempt is blocked at every level that runs it.

The table is `escapes.ATTEMPTS`. At `bwrap` and `namespaces` each attempt runs and the host
checks it failed; resource attempts must end with the right `killed_by`. At `rlimits-only`
agent-written code is refused outright (it could do all of these), and the resource limits, which
still guard experiment specs there, are checked with code through the private runner.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.sandbox import CODE_LEVELS, IsolationLevel, guarantees, run_code

from .escapes import ATTEMPTS, LIMIT_ATTEMPTS
from .helpers import names


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_escape_attempt_is_blocked(
    name: str, level: IsolationLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if level not in CODE_LEVELS and name not in LIMIT_ATTEMPTS:
        with pytest.raises(ConfigError, match="refusing to run agent-written code") as refused:
            run_code("print('never runs')")
        assert "bubblewrap" in str(refused.value) and "user namespaces" in str(refused.value)
        return
    enforced, not_enforced = guarantees(level)
    if name == "fork_bomb" and "process_count" not in names(enforced):
        assert "process_count" in names(not_enforced)
        pytest.skip(f"{level}: no process limit here, and the record says so")
    if name == "fill_the_disk":
        pytest.skip("the work folder's total size is limited at no level (the record says so)")

    outcome = ATTEMPTS[name](level, tmp_path, monkeypatch)

    assert outcome.blocked, outcome.why()
    if name in LIMIT_ATTEMPTS:
        assert outcome.run.killed_by == LIMIT_ATTEMPTS[name], outcome.why()
    print(f"isolation {level}: {name} blocked: {outcome.seen}")


def test_experiment_specs_still_run_at_rlimits_only() -> None:
    from autoalign.sandbox import run_job
    from autoalign.sandbox._models import Job
    from autoalign.testbeds import ExperimentSpec

    spec = ExperimentSpec(testbed="reward_hacking", seeds=[0])
    run = run_job(Job(kind="spec", payload=spec.model_dump_json()), isolation="rlimits-only")

    assert run.ok and run.isolation == "rlimits-only", run.stderr
    assert "research_data" in names(run.not_enforced)
    assert {"filesystem", "network", "process_tree"} <= names(run.not_enforced)
