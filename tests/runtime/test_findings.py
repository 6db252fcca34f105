"""A step's findings from a registered critic: critic id and version, and what is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoalign.critics import PaperReview
from autoalign.errors import DataError
from autoalign.models import ModelClient
from autoalign.runtime import Findings, NullProgress, StageContext
from autoalign.store import Store
from autoalign.vocabulary import Kind, Stage

from ..pipeline.test_run import agenda


def test_a_critic_id_needs_its_version_and_the_other_way_round() -> None:
    with pytest.raises(DataError, match=re.escape("name critic 'c2.review' with version None")):
        Findings(about=1, critic="c2.review")
    with pytest.raises(DataError, match="give both or neither"):
        Findings(about=1, critic_version="1")
    assert Findings(about=1, critic="c2.review", critic_version="1").critic == "c2.review"


async def test_a_critic_step_with_nothing_to_check_is_refused(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/research.db")
    plan = agenda("scripted:schema")
    run = store.create_run(name="t", agenda_digest="0" * 64, config={})
    ctx = StageContext(
        store=store, client=ModelClient(config=plan.models, ledger=store, run_id=run.id),
        run=run, agenda=plan, progress=NullProgress(),
    )
    with pytest.raises(DataError, match=re.escape("critic c2.review was given nothing to check")):
        await ctx.critique(
            key="writeup/critic-2/0", kind=Kind.PAPER_CRITIQUE, stage=Stage.WRITEUP,
            critic=PaperReview(), subject=None, parents=[], findings=lambda _r, _f: None,
        )
    assert store.artifacts(run_id=run.id) == []
