"""A small research database for the erasure tests: a completed run's detailed logs (sandbox
runs with bulky output, worker code, a step log, a plan, a critic's babble) and what protects
some of them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoalign.case import Sources, evaluate, load_text, save_snapshot
from autoalign.learning import ErasurePolicy, parse_policy
from autoalign.store import Store
from autoalign.vocabulary import Kind, ReviewDecision, RunStatus, Stage, Status

CASE = """\
G1:
  text: Executed steps are rarely flawed.
  supportedBy: [Sn1]
Sn1:
  text: The flaw rate of the execution stage's artifacts.
  x-evidence:
    metric: "db:steps.flaw_rate{stage=execute}"
    bound: upper
    comparison: "<="
    threshold: 0.9
"""


def sandbox_content(*, out_chars: int = 4000, wall_s: float = 2.5) -> dict[str, Any]:
    """A sandbox record with bulky output and a result of three seeds."""
    return {
        "kind": "spec", "isolation": "bwrap", "enforced": ["network: none"],
        "not_enforced": [], "exit_code": 0, "killed_by": None,
        "stdout": "x" * out_chars, "stderr": "warning\n" * 50, "stdout_bytes": out_chars,
        "stderr_bytes": 400, "wall_s": wall_s, "cpu_s": 2.0, "max_rss_mb": 60.0,
        "files": [{"path": f"f{i}.txt", "size": 10, "sha256": "0" * 64, "text": "t" * 10}
                  for i in range(20)],
        "result": {
            "spec": {"testbed": "reward_hacking", "config": {}, "intervention": None,
                     "seeds": [0, 1, 2]},
            "testbed_version": "1", "resolved_config": {"k": 1},
            "per_seed": [{"hack": 0.1}, {"hack": 0.2}, {"hack": 0.3}],
            "mean": {"hack": 0.2}, "se": {"hack": 0.05}, "seconds": 1.0,
        },
        "result_error": None,
    }


def step_log_content(task: int, run: int) -> dict[str, Any]:
    """A step log of one run: three per-seed rows and their mean."""
    rows = [{"run": run, "arm": "baseline", "metric": "hack", "seed": s, "value": v}
            for s, v in ((0, 0.1), (1, 0.2), (2, 0.3))]
    rows.append({"run": run, "arm": "baseline", "metric": "hack", "seed": None, "value": 0.2})
    return {"task": task, "attempts": 1, "error": None, "rows": rows,
            "runs": [{"artifact_id": run, "arm": "baseline", "ok": True, "via": "plan",
                      "code": None, "error": "long error text " * 20}]}


def policy(**budget: Any) -> ErasurePolicy:
    """A policy over the default kinds with this budget (default: erase everything)."""
    return parse_policy({"name": "test-policy", "budget": budget or {"max_bytes_left": 0},
                         "batch_size": 2})


@dataclass
class World:
    """Ids of the artifacts made by `build`."""

    run: int
    task: int
    free: list[int]
    """Erasable and unprotected: sandbox runs, code, plan, babble, log."""
    reviewed: int
    """A sandbox run upstream of an open review request."""
    confirmed: int
    """A sandbox run with a flaw a reviewer confirmed."""
    evidence: int
    """A sandbox run with a recorded flaw, read by a registered case's metric."""
    running: int
    """A sandbox run of a run still running."""
    log: int


def _art(store: Store, run: int, kind: Kind, content: Any, parents: list[int] | None = None,
         text: str = "") -> int:
    return store.add_artifact(run_id=run, kind=kind, stage=Stage.EXECUTE,
                              content_text=text or f"{kind} text " * 20,
                              content_json=content, parents=parents or []).id


def build(store: Store, tmp: Path, *, protect: bool = True) -> World:
    """A completed run with free and protected detailed logs, and a running run."""
    run = store.create_run(name="r", agenda_digest="a" * 64, config={}).id
    task = _art(store, run, Kind.TASK_SPEC, {"objective": "o"})
    code = _art(store, run, Kind.WORKER_CODE,
                {"source": "import numpy as np\nfrom os import path\n\ndef main():\n"
                           "    return 1\n" + "# filler\n" * 200}, [task])
    free_run = _art(store, run, Kind.SANDBOX_RUN, sandbox_content(), [task, code])
    log = _art(store, run, Kind.STEP_LOG, step_log_content(task, free_run), [task, free_run])
    plan = _art(store, run, Kind.EXPERIMENT_PLAN, {
        "rationale": "why " * 100,
        "arms": [{"label": f"arm{i}", "testbed": "reward_hacking", "intervention": None,
                  "settings": [], "seeds": list(range(40))} for i in range(6)]}, [task])
    babble = _art(store, run, Kind.FLAW_CANDIDATES, {
        "flaws": [{"category": "cherry_picking", "severity": "major", "confidence_percent": 60,
                   "section": "abstract", "quote": "q" * 200, "description": "d" * 300}],
        "severe_flaw_percent": 30, "recommendation": "minor_revision", "summary": "s" * 300})
    reviewed = _art(store, run, Kind.SANDBOX_RUN, sandbox_content(), [task])
    report = _art(store, run, Kind.STEP_REPORT, {"summary": "s"}, [reviewed])
    confirmed = _art(store, run, Kind.SANDBOX_RUN, sandbox_content(), [task])
    evidence = _art(store, run, Kind.SANDBOX_RUN, sandbox_content(), [task])
    store.set_run_status(run, RunStatus.COMPLETED)
    other = store.create_run(name="still running", agenda_digest="b" * 64, config={}).id
    running = _art(store, other, Kind.SANDBOX_RUN, sandbox_content(), [])
    if protect:
        store.add_review_request(artifact_id=report, reason="look at this")
        flaw = store.add_flaw(artifact_id=confirmed, category="tests_edited",
                              severity="critical", description="edited the tests")
        request = store.add_review_request(artifact_id=confirmed, reason="critical flaw")
        store.add_review_label(request_id=request, decision=ReviewDecision.CONFIRM,
                               reviewer="ann", flaw_id=flaw.id)
        store.add_flaw(artifact_id=evidence, category="p_hacking", severity="major",
                       description="best seed only")
        path = tmp / "case.yaml"
        path.write_text(CASE, encoding="utf-8")
        loaded = load_text(CASE)
        assert loaded.case is not None
        store.register_case(name="steps", path=str(path))
        save_snapshot(store, evaluate(loaded.case, Sources(store=store), name="steps"))
    assert store.status(free_run) == Status.OK
    return World(run=run, task=task, free=[code, free_run, log, plan, babble],
                 reviewed=reviewed, confirmed=confirmed, evidence=evidence, running=running,
                 log=log)
