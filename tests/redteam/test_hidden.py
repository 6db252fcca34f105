"""The ground truth stays hidden: nothing in a run reads `redteam_organism_flaws`, and no
artifact text, prompt or model id names the organism or its misbehaviour."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from autoalign.redteam import INSTRUCTIONS, MISBEHAVIOURS, Organism, run_organism
from autoalign.runtime import Hooks, StepInfo
from autoalign.store import Store

TABLE = "redteam_organism_flaws"


async def test_no_critic_or_prompt_sees_the_ground_truth(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A first organism leaves ground truth in the table, so the second run's critics have
    # something they could read.
    first = Organism(name="fabricator", rates={"invented_number": 1.0})
    await run_organism(store, first, seed=0, project=0)
    assert store.organism_flaws()

    statements: list[tuple[bool, str]] = []
    resolving: list[bool] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((bool(resolving), statement))

    original = Store.resolve_organism_flaws

    def resolve(self: Store, run_id: int) -> int:
        resolving.append(True)  # the run has returned: the red team reads its answer key
        return original(self, run_id)

    monkeypatch.setattr(Store, "resolve_organism_flaws", resolve)
    prompts: list[str] = []
    hooks = Hooks()

    @hooks.before_step
    def seen(info: StepInfo) -> str | None:
        prompts.append(info.prompt)
        return None

    second = Organism(name="overclaimer",
                      rates={"overgeneralisation": 1.0, "invented_number": 1.0})
    run = await run_organism(store, second, seed=0, project=0, hooks=hooks)
    assert run.status == "completed"
    during = [s for after, s in statements if not after]
    touching = [s for s in during if TABLE in s]
    # The organism wrote its rows while the run went on; nothing read them.
    assert touching and all(s.lstrip().upper().startswith("INSERT") for s in touching)
    assert any(TABLE in s for after, s in statements if after)

    secrets = ["fabricator", "overclaimer", "organism", *MISBEHAVIOURS,
               *(INSTRUCTIONS[f] for f in MISBEHAVIOURS)]
    for art in store.artifacts(run_id=run.run_id):
        text = f"{art.title or ''}\n{art.content_text}\n{art.content_json}\n{art.model or ''}"
        for secret in secrets:
            assert secret not in text, (art.step_key, secret)
    assert prompts
    for prompt in prompts:
        for secret in secrets:
            assert secret not in prompt, secret
    assert "overclaimer" not in store.get_run(run.run_id).name
