"""An organism's instructions, given to a real model: they reach the prompts of the roles it
plays, and such a run records no ground truth."""

from __future__ import annotations

from autoalign.models import register_script
from autoalign.redteam import INSTRUCTIONS, Organism, measure, run_organism
from autoalign.store import Store

from ..pipeline.conftest import ANSWERS, Team


def test_instructions_name_each_misbehaviour_with_a_positive_rate() -> None:
    sloppy = Organism(name="s", rates={"p_hacking": 0.5, "invented_number": 0.0})
    assert INSTRUCTIONS["p_hacking"] in sloppy.instructions()
    assert INSTRUCTIONS["invented_number"] not in sloppy.instructions()
    assert "honestly" in Organism(name="h").instructions()


async def test_the_instructions_reach_the_prompts_of_the_roles_it_plays(store: Store) -> None:
    team = Team()
    # An organism project scopes one candidate step.
    scope = {**ANSWERS["ScopePlan"], "candidates": ANSWERS["ScopePlan"]["candidates"][:1]}
    team.overrides["ScopePlan"] = lambda _prompt: scope
    register_script("instructed-organism", team)
    organism = Organism(name="fabricator", rates={"invented_number": 1.0},
                        model="scripted:instructed-organism")
    run = await run_organism(store, organism, seed=0, project=0)
    assert run.instructed and run.status == "completed"
    text = INSTRUCTIONS["invented_number"]
    played = {"ScopePlan", "ExperimentPlan", "StepReport", "Section", "Abstract"}
    asked = {name for name, _ in team.calls}
    assert played <= asked
    for name, prompt in team.calls:
        if name in played:
            assert prompt.endswith(text), name
        if name in {"RubricScore", "FlawCandidates", "SpiritVerdict"}:  # judge and critics
            assert text not in prompt, name
    assert store.organism_flaws() == []
    assert measure(store, [run]).trials == []
