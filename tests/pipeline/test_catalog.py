"""A project's catalogue and the output types bound to it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from autoalign.agenda import Topic
from autoalign.pipeline._catalog import schemas_for, topic_catalog


def test_a_topic_without_testbeds_may_use_every_question_of_every_testbed() -> None:
    from autoalign.testbeds import list_testbeds

    catalog = topic_catalog(Topic(name="t"))
    assert catalog.testbeds == tuple(t.name for t in list_testbeds())
    assert len(catalog.questions) == sum(len(t.questions) for t in list_testbeds())


def test_the_plan_schema_names_only_the_catalogues_knobs_with_their_types_and_ranges() -> None:
    catalog = topic_catalog(Topic(name="t", testbeds=["reward_hacking"]))
    plan = schemas_for(catalog, candidates=3, run_now=1, max_arms=2, max_seeds=3).plan

    def arm(**change: object) -> dict[str, object]:
        return {"label": "a", "testbed": "reward_hacking", "seeds": [0, 1], **change}

    ok = plan.model_validate({"rationale": "r", "arms": [arm(settings=[
        {"knob": "bonus", "value": 1.5}, {"knob": "flaw", "value": "tamper"},
        {"knob": "episodes", "value": 100},
    ])]})
    assert [(s.knob, s.value) for s in ok.arms[0].settings] == [
        ("bonus", 1.5), ("flaw", "tamper"), ("episodes", 100)
    ]
    for bad in (
        arm(settings=[{"knob": "bonus", "value": 999}]),        # out of range
        arm(settings=[{"knob": "flaw", "value": "none"}]),      # not a choice
        arm(settings=[{"knob": "signal", "value": 1.0}]),       # another testbed's knob
        arm(testbed="probe_detection"),                         # not the topic's testbed
        arm(intervention="nosuch"),
        arm(seeds=[0, 1, 2, 3]),                                # more seeds than allowed
    ):
        with pytest.raises(ValidationError):
            plan.model_validate({"rationale": "r", "arms": [bad]})
    with pytest.raises(ValidationError):  # more arms than a step may run
        plan.model_validate({"rationale": "r", "arms": [arm(), arm(), arm()]})


def test_scope_and_report_schemas_follow_the_agenda() -> None:
    catalog = topic_catalog(Topic(
        name="t", testbeds=["reward_hacking"],
        questions=["reward_hacking/repeat_penalty_cuts_hacking"],
    ))
    schemas = schemas_for(catalog, candidates=2, run_now=1, max_arms=2, max_seeds=3)
    candidate = {"title": "x", "kind": "experiment", "objective": "o", "value_percent": 5}
    schemas.scope.model_validate({"candidates": [candidate] * 2, "run_now": [0], "rationale": "r"})
    with pytest.raises(ValidationError):
        schemas.scope.model_validate(
            {"candidates": [candidate] * 3, "run_now": [0], "rationale": "r"}
        )
    with pytest.raises(ValidationError):  # a question outside the topic's
        schemas.scope.model_validate({"candidates": [
            {**candidate, "question": "reward_hacking/noise_cuts_hacking"}
        ], "run_now": [0], "rationale": "r"})
    answer = {
        "question": "reward_hacking/repeat_penalty_cuts_hacking", "treated_arm": "a",
        "comparison_arm": "b", "estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2,
        "probability_percent": 60,
    }
    assert schemas.report.model_validate({"summary": "s", "answers": []}).answers == []
    with pytest.raises(ValidationError):
        schemas.answering.model_validate({"summary": "s", "answers": []})
    assert len(schemas.answering.model_validate({"summary": "s", "answers": [answer]}).answers)
