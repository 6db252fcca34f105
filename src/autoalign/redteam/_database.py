"""Clean subjects from the research database: accepted papers on which no flaw is recorded, and
executed steps of completed runs on which no flaw is recorded.

A step is read back from its stored records (`autoalign.pipeline.stored_executed_step`: the
worker's report, its step log and task, the sandbox runs, the code and the claims), the same
`ExecutedStep` critic #1 checked while the run went on.
"""

from __future__ import annotations

from ..critics import ExecutedStep
from ..pipeline import stored_executed_step, stored_paper_draft
from ..store import Store
from ..vocabulary import Kind, RunStatus, Status
from ._subjects import CleanSubject


def database_subjects(store: Store) -> list[CleanSubject]:
    """Every accepted paper with no flaw recorded on it or on its sections (`db:paper-<id>`),
    then every executed step of a completed run with no flaw recorded on any of its records
    (`db:step-<step log id>`), each in id order."""
    found = []
    for paper in store.artifacts(kind=Kind.PAPER):
        if paper.status != Status.ACCEPTED:
            continue
        draft = stored_paper_draft(store, paper.id)
        if draft is None:
            continue
        ids = [draft.paper_id, *(s.artifact_id for s in draft.sections)]
        if store.flaws(artifact_ids=ids):
            continue
        found.append(CleanSubject(key=f"db:paper-{paper.id}", where="paper", subject=draft,
                                  source_artifact=paper.id))
    return found + database_steps(store)


def step_records(step: ExecutedStep) -> list[int]:
    """Every stored record an executed step was read from."""
    ids = [step.task.artifact_id, step.log.artifact_id, *(r.artifact_id for r in step.runs),
           *(c.artifact_id for c in step.claims)]
    if step.code is not None:
        ids.append(step.code.artifact_id)
    if step.interpretation is not None:
        ids.append(step.interpretation.artifact_id)
    return ids


def database_steps(store: Store) -> list[CleanSubject]:
    """Every executed step of a completed run, read back from its records, on none of which
    (task, log, sandbox runs, code, report, claims) a flaw is recorded, whose results are not
    marked failed or unusable, and which ran at least one sandbox run; keyed by its step log
    (`db:step-<id>`), in report id order. Runs the red team made (organisms', tampered
    pipeline runs) are left out: their flaws are known, not absent."""
    from ._export import redteam_runs

    completed = {r.id for r in store.list_runs() if r.status == RunStatus.COMPLETED}
    completed -= redteam_runs(store)
    found: list[CleanSubject] = []
    seen: set[int] = set()
    for report in store.artifacts(kind=Kind.STEP_REPORT):
        if report.run_id not in completed:
            continue
        step = stored_executed_step(store, report.id)
        if step is None or not step.runs or step.log.artifact_id in seen:
            continue
        if store.status(step.log.artifact_id) in (Status.FAILED, Status.UNUSABLE):
            continue
        if store.flaws(artifact_ids=step_records(step)):
            continue
        seen.add(step.log.artifact_id)
        found.append(CleanSubject(key=f"db:step-{step.log.artifact_id}", where="execution",
                                  subject=step, source_artifact=step.log.artifact_id))
    return found


__all__ = ["database_steps", "database_subjects", "step_records"]
