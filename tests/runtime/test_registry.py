"""The stage registry: validated at registration, run in order, inputs read from the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.pipeline import STAGES
from autoalign.runtime import NothingToDoError, StageContext, registered_stages, stage
from autoalign.runtime import stage_registry as registry
from autoalign.store import Store
from autoalign.vocabulary import Stage


def _no_inputs(ctx: StageContext) -> None:
    del ctx


async def _noop(ctx: StageContext, inputs: None) -> None:
    del ctx, inputs


def test_the_pipeline_registers_its_stages_in_order() -> None:
    assert STAGES == (Stage.PROPOSE, Stage.EXECUTE, Stage.WRITEUP, Stage.CROSSCHECK)
    assert [s.name for s in registered_stages()] == list(STAGES)
    assert all(s.doc for s in registered_stages())


def test_a_taken_name_or_order_is_refused_at_registration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("autoalign.runtime._registry.stage_registry", dict(registry))
    with pytest.raises(ValueError, match="already registered"):
        stage(Stage.EXECUTE, order=99, inputs=_no_inputs)(_noop)
    with pytest.raises(ValueError, match="which stage 'propose' has"):
        stage(Stage.WRITEUP, order=10, inputs=_no_inputs)(_noop)
    with pytest.raises(ValueError, match="is not a Stage"):
        stage("review", order=40, inputs=_no_inputs)(_noop)  # type: ignore[arg-type]  # on purpose


async def test_a_stage_whose_input_is_missing_from_the_store_has_nothing_to_do(
    tmp_path: Path,
) -> None:
    from autoalign.agenda import parse_agenda
    from autoalign.models import ModelClient
    from autoalign.runtime import NullProgress

    store = Store.open(f"sqlite:///{tmp_path}/research.db")
    run = store.create_run(name="t", agenda_digest="d", config={})
    the_agenda = parse_agenda({"run": {"name": "t"}, "topics": [{"name": "x"}]})
    client = ModelClient(config=the_agenda.models, ledger=store, run_id=run.id,
                         budget=the_agenda.budget, seed=0)
    ctx = StageContext(store=store, client=client, run=run, agenda=the_agenda,
                       progress=NullProgress())
    with pytest.raises(NothingToDoError, match="no selected proposal"):
        registry[Stage.EXECUTE].inputs(ctx)
    with pytest.raises(NothingToDoError, match="no valid research log"):
        registry[Stage.WRITEUP].inputs(ctx)
    await client.aclose()
