"""Executed steps of completed runs as clean subjects: read back from their stored records,
the same step critic #1 checked while the run went on."""

from __future__ import annotations

from autoalign.pipeline import run_agenda, stored_executed_step
from autoalign.redteam import parse_config, run_experiment, trials
from autoalign.redteam._database import database_steps, database_subjects
from autoalign.store import Store
from autoalign.vocabulary import Kind
from tests.pipeline.conftest import Team
from tests.pipeline.test_run import agenda


async def test_a_completed_runs_unflawed_step_is_a_clean_execution_subject(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    # Critic #1's spirit judge finds nothing, so the step is clean.
    script.overrides["SpiritVerdict"] = lambda _: {
        "preserves_spirit": True, "issues": [], "confidence_percent": 90}
    summary = await run_agenda(agenda(model), store=store)
    run = summary.run.id
    assert summary.run.status == "completed"
    (report,) = store.artifacts(run_id=run, kind=Kind.STEP_REPORT)
    (log,) = store.artifacts(run_id=run, kind=Kind.STEP_LOG)
    step = stored_executed_step(store, report.id)
    assert step is not None
    # The records it was read from, as the execute stage stored them.
    assert step.log.artifact_id == log.id
    assert step.step_key == (report.step_key or "").removesuffix("/report")
    assert step.interpretation is not None and step.interpretation.artifact_id == report.id
    assert step.interpretation.text == report.content_json["summary"]
    assert {r.artifact_id for r in step.runs} == {r["artifact_id"]
                                                  for r in log.content_json["runs"]}
    assert [(r.metric, r.arm, r.seed, r.value) for r in step.log.rows] == [
        (r["metric"], r["arm"], r["seed"], r["value"]) for r in log.content_json["rows"]]
    claims = store.artifacts(run_id=run, kind=Kind.EXPERIMENT_CLAIM)
    assert [c.artifact_id for c in step.claims] == [c.id for c in claims]
    assert stored_executed_step(store, log.id) is None  # not a step report

    found = database_steps(store)
    # The scripted team's step is honest: critic #1 recorded nothing on it.
    assert not store.flaws(artifact_ids=[log.id, report.id, *(c.id for c in claims)])
    assert [(s.key, s.where, s.source_artifact) for s in found] == [
        (f"db:step-{log.id}", "execution", log.id)]
    assert found[0].subject == step
    assert [s.key for s in database_subjects(store) if s.where == "execution"] == [
        f"db:step-{log.id}"]

    # An execution injector uses the real step.
    config = parse_config({
        "name": "db-steps", "critics": ["c1.results-produced"], "sources": ["database"],
        "flaw_types": ["unproduced-result"], "injections_per_type": 1, "controls": 1,
    })
    done = await run_experiment(store, config)
    (injection,) = store.redteam_injections(done.experiment_id)
    assert (injection.clean_key, injection.source_artifact_id) == (f"db:step-{log.id}", log.id)
    assert injection.artifact_id == log.id and injection.field.startswith("log.rows.")
    got = {t.subject: t for t in trials(store, done.experiment_id)}
    assert got[f"db:step-{log.id}/control"].control

    # A flaw recorded on any of the step's records makes it not clean.
    store.add_flaw(artifact_id=claims[0].id if claims else report.id, category="other",
                   severity="minor", description="d")
    assert database_steps(store) == []


def test_steps_of_unfinished_runs_are_not_subjects(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d", config={})
    store.add_artifact(run_id=run.id, kind=Kind.STEP_REPORT, stage="execute",
                       step_key="execute/step/0.0/report", content_json={"summary": "s"})
    assert database_steps(store) == []
