"""Studies: testbed questions answered by sandboxed experiments, recorded as linked claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoalign.calibration import score_claims
from autoalign.errors import DataError
from autoalign.experiments import probability_yes, run_study, study_questions
from autoalign.sandbox import Limits, LocalBackend
from autoalign.store import Store
from autoalign.testbeds import Question, ground_truth
from autoalign.vocabulary import ClaimSource

LIMITS = Limits(wall_s=60, cpu_s=60)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path}/research.db") as opened:
        yield opened


@pytest.fixture(scope="module")
def backend() -> Iterator[LocalBackend]:
    with LocalBackend() as pool:
        yield pool


def question(direction: str, threshold: float) -> Question:
    return Question(
        id="q", text="?", intervention="x", metric="m", effect_kind="difference",
        threshold=threshold, direction=direction,  # type: ignore[arg-type]
    )


def test_probability_yes_is_the_normal_tail() -> None:
    # Estimate exactly at the threshold: a coin flip either way.
    assert probability_yes(question("at_least", 0.2), 0.2, 0.1) == pytest.approx(0.5)
    # One SE above the threshold: Phi(1) = 0.8413.
    assert probability_yes(question("at_least", 0.2), 0.3, 0.1) == pytest.approx(0.841345, 1e-5)
    assert probability_yes(question("at_most", 0.2), 0.3, 0.1) == pytest.approx(0.158655, 1e-5)
    # Never certain: clipped away from 0 and 1.
    assert probability_yes(question("at_least", 0.0), 10.0, 0.001) == pytest.approx(1 - 1e-4)
    assert probability_yes(question("at_least", 0.0), -1.0, 0.0) == pytest.approx(1e-4)


def test_study_records_claims_linked_to_sandbox_runs(
    store: Store, backend: LocalBackend
) -> None:
    run = store.create_run(name="s", agenda_digest="d", config={})
    results = study_questions(
        store, run_id=run.id, testbed="spurious_correlation", seeds=[0, 1, 2],
        backend=backend, limits=LIMITS, questions=["reweight_worst_group"],
    )
    (result,) = results
    assert result.n_seeds == 3
    assert result.ci_low < result.effect < result.ci_high
    (claim,) = store.claims(artifact_id=result.artifact_id)
    assert (claim.testbed, claim.question_id) == ("spurious_correlation", "reweight_worst_group")
    assert claim.probability == pytest.approx(result.probability)
    # A formula made it: calibration reports it apart from agents' claims.
    assert (claim.source, claim.model) == (ClaimSource.STUDY, None)
    # The claim's artifact was made from the two arms' sandbox runs.
    parents = store.artifacts(ids=[e.parent_id for e in store.parents(result.artifact_id)])
    assert [p.kind for p in parents] == ["sandbox_run", "sandbox_run"]
    arms = [p.content_json["result"]["spec"]["intervention"] for p in parents]
    assert arms == ["group_reweight", None]
    # Studying it again in the same run repeats nothing.
    again = study_questions(
        store, run_id=run.id, testbed="spurious_correlation", seeds=[0, 1, 2],
        backend=backend, limits=LIMITS, questions=["reweight_worst_group"],
    )
    assert again == results
    assert len(store.artifacts(run_id=run.id)) == 3


def test_unknown_question_is_refused(store: Store, backend: LocalBackend) -> None:
    run = store.create_run(name="s", agenda_digest="d", config={})
    with pytest.raises(DataError, match="unknown question"):
        study_questions(
            store, run_id=run.id, testbed="spurious_correlation", seeds=[0, 1],
            backend=backend, limits=LIMITS, questions=["nope"],
        )


def test_study_then_calibration_end_to_end(
    store: Store, backend: LocalBackend, tmp_path: Path
) -> None:
    study = run_study(
        store, testbeds=["spurious_correlation"], seeds=3, backend=backend, limits=LIMITS
    )
    assert store.get_run(study.run_id).status == "completed"
    again = run_study(
        store, testbeds=["spurious_correlation"], seeds=3, backend=backend, limits=LIMITS
    )
    assert again.resumed and again.run_id == study.run_id and again.results == study.results

    def truth_for(name: str):  # type: ignore[no-untyped-def]
        return ground_truth(name, seeds=40, cache_dir=tmp_path, progress=False)

    report = score_claims(store, truth_for=truth_for, n_boot=200)
    assert report.n == len(study.results) == 5
    # The Brier score is of the study's own probabilities against the ground truth's answers,
    # both read here independently of the scoring code.
    answers = {t.question_id: t.answer for t in truth_for("spurious_correlation")}
    expected = sum(
        (r.probability - float(answers[r.question_id])) ** 2 for r in study.results
    ) / len(study.results)
    brier = report.score("brier")
    assert brier.value == pytest.approx(expected, abs=1e-12)
    assert brier.n == 5 and brier.ci_low <= brier.value <= brier.ci_high
    # All five are a formula's, reported as the study source's group.
    assert [(g.source, g.model, g.n) for g in report.groups_by("source")] == [
        (ClaimSource.STUDY, None, 5)
    ]
    assert sorted(c.claim_id for c in report.claims) == sorted(r.claim_id for r in study.results)


async def test_a_model_fills_in_a_spec_that_runs_in_the_sandbox(
    store: Store, backend: LocalBackend
) -> None:
    """Way (a): any model can fill in an experiment spec; it is validated, then run isolated."""
    import json

    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
    from pydantic_ai.models.function import AgentInfo

    from autoalign.errors import ConfigError
    from autoalign.models import ModelClient, ModelsConfig, register_script
    from autoalign.sandbox import run_spec as run_spec_sandboxed
    from autoalign.testbeds import ExperimentSpec

    answers = iter([
        {"testbed": "spurious_correlation", "config": {"nonsense_knob": 1}, "seeds": [0]},
        {"testbed": "spurious_correlation", "intervention": "group_reweight", "seeds": [0, 1]},
    ])

    def worker(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(json.dumps(next(answers)))])

    register_script("spec-worker", worker)
    run = store.create_run(name="s", agenda_digest="d", config={})
    client = ModelClient(
        config=ModelsConfig(default="scripted:spec-worker"), ledger=store, run_id=run.id
    )
    first = await client.ask("worker", ExperimentSpec, instructions="i", prompt="design 1")
    assert first.output is not None
    with pytest.raises(ConfigError) as info:  # well-formed, but not a knob of the testbed
        first.output.validate_against_registry()
    assert info.value.field == "config.nonsense_knob"
    second = await client.ask("worker", ExperimentSpec, instructions="i", prompt="design 2")
    assert second.output is not None
    second.output.validate_against_registry()
    sandboxed = run_spec_sandboxed(second.output, limits=LIMITS)
    assert sandboxed.ok and sandboxed.result is not None
    assert len(sandboxed.result["per_seed"]) == 2
    await client.aclose()
