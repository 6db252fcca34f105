"""`run --stage NAME`: re-run one stage of the latest run from what the store holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.pipeline import run_agenda
from autoalign.store import Store

from .conftest import Team
from .test_run import CALLS, agenda

WRITEUP_CALLS = (
    "Section", "Section", "Section", "Abstract", "FlawCandidates", "FlawCandidates", "FlawCheck"
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


async def test_a_stage_rerun_writes_a_new_round_from_the_stored_inputs(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    first = await run_agenda(agenda(model), store=store)
    assert first.run.status == "completed" and len(script.calls) == CALLS
    before = {a.id for a in store.artifacts(run_id=first.run.id)}

    again = await run_agenda(agenda(model), store=store, stage="writeup")
    assert again.run.id == first.run.id and again.run.status == "completed"
    assert again.stage_round == 1
    asked = [name for name, _ in script.calls[CALLS:]]
    assert sorted(asked) == sorted(WRITEUP_CALLS)  # only the write-up's models were asked
    new = [a for a in store.artifacts(run_id=first.run.id) if a.id not in before]
    assert {a.stage for a in new} == {"writeup"}
    assert sorted(a.step_key or "" for a in new) == sorted(
        f"writeup/{k}@1" for k in
        ("appendix", "main_text", "introduction", "abstract", "paper", "critic-2/0",
         "critic-2/0/instance/0", "critic-2/0/instance/1", "critic-2/0/investigate/0")
    )
    # A new sample, not a replay of the cache; the paper is the new round's.
    assert store.run_usage(first.run.id).cache_hits == 0
    assert again.paper_id is not None and again.paper_id != first.paper_id
    assert again.paper_status == "accepted"
    # It was written from the stored research log of the run.
    (log,) = store.artifacts(run_id=first.run.id, kind="research_log")
    assert log.id in store.ancestors(again.paper_id)

    third = await run_agenda(agenda(model), store=store, stage="writeup")
    assert third.stage_round == 2 and len(script.calls) == CALLS + 2 * len(WRITEUP_CALLS)


async def test_a_rerun_of_execute_feeds_the_next_writeup_rerun(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    first = await run_agenda(agenda(model), store=store)
    await run_agenda(agenda(model), store=store, stage="execute")
    asked = [name for name, _ in script.calls[CALLS:]]
    assert sorted(asked) == [
        "ExperimentPlan", "RoundInterpretation", "ScopePlan", "SpiritVerdict", "StepReport"
    ]
    logs = store.artifacts(run_id=first.run.id, kind="research_log")
    assert [log.step_key for log in logs] == ["execute/research-log", "execute/research-log@1"]
    # The round's sandbox runs are its own (keyed @1), run again rather than borrowed.
    runs = store.artifacts(run_id=first.run.id, kind="sandbox_run")
    assert sum((r.step_key or "").endswith("@1") for r in runs) == 2 and len(runs) == 4
    rewritten = await run_agenda(agenda(model), store=store, stage="writeup")
    assert rewritten.paper_id is not None
    ancestors = store.ancestors(rewritten.paper_id)
    assert logs[1].id in ancestors and logs[0].id not in ancestors


async def test_an_interrupted_stage_rerun_resumes_its_round(
    store: Store, team: tuple[Team, str]
) -> None:
    script, model = team
    first = await run_agenda(agenda(model), store=store)
    spent = first.usage.input_tokens + first.usage.output_tokens
    # Each call is checked at its prompt's size plus its 512-token allowance before it is
    # sent, so this is room for the appendix and not for every layer above it.
    tight = agenda(model, budget={"max_tokens": spent + 1400})
    stopped = await run_agenda(tight, store=store, stage="writeup")
    assert stopped.run.status == "stopped"
    assert (stopped.run.stop_reason or "").startswith("[stage writeup round 1] token budget")
    paid = len(script.calls) - CALLS
    assert 0 < paid < len(WRITEUP_CALLS)
    # The same --stage invocation resumes round 1 rather than starting round 2.
    resumed = await run_agenda(agenda(model), store=store, stage="writeup")
    assert resumed.stage_round == 1 and resumed.run.status == "completed"
    assert len(script.calls) == CALLS + len(WRITEUP_CALLS)  # no paid call repeated
    keys = [a.step_key for a in store.artifacts(run_id=first.run.id)]
    assert len(keys) == len(set(keys))


async def test_a_stage_rerun_needs_a_finished_run_and_a_known_stage(
    store: Store, team: tuple[Team, str]
) -> None:
    _script, model = team
    with pytest.raises(ConfigError, match="no run yet"):
        await run_agenda(agenda(model), store=store, stage="writeup")
    stopped = await run_agenda(agenda(model, budget={"max_tokens": 2500}), store=store)
    assert stopped.run.status == "stopped"
    with pytest.raises(ConfigError, match="not completed; run the agenda without --stage"):
        await run_agenda(agenda(model), store=store, stage="writeup")
    with pytest.raises(ConfigError, match="no stage 'examine'; the stages are: propose, execute"):
        await run_agenda(agenda(model), store=store, stage="examine")
    assert store.get_run(stopped.run.id).status == "stopped"
