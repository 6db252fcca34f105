"""`score_claims` scores each source, and each model within a source, on its claims alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from autoalign.calibration import MIN_N_FOR_INTERVAL, calibrate, reliability_diagram, score_claims
from autoalign.store import Store
from autoalign.vocabulary import ClaimSource

from .conftest import GEMMA, GPT, YES, TruthSource, add_study_claims, add_two_sources

# (source, model) -> (probabilities, outcomes) of the claims written by `add_two_sources`.
EXPECTED: dict[tuple[ClaimSource, str | None], tuple[list[float], list[bool]]] = {
    (ClaimSource.STUDY, None): ([0.9, 0.2, 0.7], [True, False, True]),
    (ClaimSource.PIPELINE, None): ([0.4], [False]),
    (ClaimSource.PIPELINE, GEMMA): ([0.6, 0.55, 0.8], [True, False, False]),
    (ClaimSource.PIPELINE, GPT): ([0.3, 0.1], [True, False]),
}


def test_groups_by_source_and_by_model_each_calibrate_their_own_claims(
    sqlite_store: Store,
) -> None:
    add_two_sources(sqlite_store)
    options = {"n_bins": 2, "n_boot": 200, "level": 0.9, "seed": 5}

    report = score_claims(sqlite_store, truth_for=TruthSource(), **options)

    assert report.n == 9
    assert report.skipped_counts() == {"no_question": 1}
    assert report.scores == calibrate(report.predictions, report.outcomes, **options).scores

    by_source = report.groups_by("source")
    assert [(g.source, g.model, g.n) for g in by_source] == [
        (ClaimSource.STUDY, None, 3), (ClaimSource.PIPELINE, None, 6),
    ]
    by_model = report.groups_by("model")
    assert [(g.source, g.model, g.n) for g in by_model] == [
        (ClaimSource.STUDY, None, 3),
        (ClaimSource.PIPELINE, None, 1),
        (ClaimSource.PIPELINE, GEMMA, 3),
        (ClaimSource.PIPELINE, GPT, 2),
    ]
    # The order of `groups`: each source's group, then its models'.
    assert [(g.by, g.source, g.model) for g in report.groups] == [
        ("source", ClaimSource.STUDY, None), ("model", ClaimSource.STUDY, None),
        ("source", ClaimSource.PIPELINE, None), ("model", ClaimSource.PIPELINE, None),
        ("model", ClaimSource.PIPELINE, GEMMA), ("model", ClaimSource.PIPELINE, GPT),
    ]

    for group in by_model:
        p, y = EXPECTED[(group.source, group.model)]
        alone = calibrate(p, y, **options)
        assert sorted(group.report.predictions) == sorted(p)
        assert group.report.scores == alone.scores
        assert group.report.bins == alone.bins
        assert {c.model for c in group.report.claims} == {group.model}
        assert {c.source for c in group.report.claims} == {group.source}
        assert group.report.skipped == () and group.report.groups == ()

    (pipeline,) = [g for g in by_source if g.source == ClaimSource.PIPELINE]
    pairs = [
        pair
        for (source, _), (ps, ys) in EXPECTED.items()
        if source == ClaimSource.PIPELINE
        for pair in zip(ps, ys, strict=True)
    ]
    # Claims keep the database's order, so the pooled group's arrays are a reordering of these.
    assert sorted(
        zip(pipeline.report.predictions, pipeline.report.outcomes, strict=True)
    ) == sorted(pairs)
    assert pipeline.report.scores == calibrate(
        pipeline.report.predictions, pipeline.report.outcomes, **options
    ).scores
    assert pipeline.report.score("brier").value != report.score("brier").value


def test_a_group_of_one_claim_has_values_but_no_meaningful_interval(sqlite_store: Store) -> None:
    add_two_sources(sqlite_store)

    report = score_claims(sqlite_store, truth_for=TruthSource(), n_bins=2, n_boot=50)

    (lone,) = [g for g in report.groups_by("model") if g.n == 1]
    assert MIN_N_FOR_INTERVAL == 2
    # Brier of one claim: (0.4 - 0)^2.
    assert abs(lone.report.score("brier").value - 0.16) < 1e-12
    assert [s.has_interval for s in lone.report.scores] == [False, False, False]
    assert all(s.has_interval for g in report.groups if g.n >= 2 for s in g.report.scores)


def test_one_source_only_has_its_groups(sqlite_store: Store) -> None:
    add_study_claims(sqlite_store, [{**YES, "text": "s", "probability": 0.9}])

    report = score_claims(sqlite_store, truth_for=TruthSource(), n_boot=20)

    assert [(g.by, g.source, g.model, g.n) for g in report.groups] == [
        ("source", ClaimSource.STUDY, None, 1), ("model", ClaimSource.STUDY, None, 1),
    ]


def test_the_diagram_draws_each_source(sqlite_store: Store, tmp_path: Path) -> None:
    """Two sources draw more than the pooled curve alone (one curve and histogram per source)."""
    add_two_sources(sqlite_store)
    report = score_claims(sqlite_store, truth_for=TruthSource(), n_bins=2, n_boot=50)

    per_source = reliability_diagram(report, tmp_path / "per_source.png").read_bytes()
    pooled = reliability_diagram(replace(report, groups=()), tmp_path / "pooled.png").read_bytes()

    assert per_source.startswith(b"\x89PNG\r\n\x1a\n")
    assert per_source != pooled
