"""`score_claims` end to end on a real SQLite store, with ground truth written in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autoalign.calibration import (
    brier_score,
    calibrate,
    expected_calibration_error,
    log_loss,
    reliability_diagram,
    score_claims,
)
from autoalign.errors import DataError
from autoalign.store import Store
from autoalign.testbeds import Truth

from .conftest import TruthSource, add_paper, truth

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

RH = {"testbed": "reward_hacking"}


def _claims() -> list[dict[str, object]]:
    return [
        {**RH, "text": "a", "question_id": "penalty_reduces_hacking", "probability": 0.8},  # yes
        {**RH, "text": "b", "question_id": "bigger_model_hacks_less", "probability": 0.3},  # no
        {**RH, "text": "c", "question_id": "penalty_reduces_hacking", "probability": 0.4},  # yes
        {"testbed": "spurious", "question_id": "probe_finds_feature", "text": "d",
         "probability": 0.9},  # yes
        {"text": "no question", "probability": 0.7},
        {**RH, "text": "no probability", "question_id": "penalty_reduces_hacking"},
        {**RH, "text": "bad probability", "question_id": "penalty_reduces_hacking",
         "probability": 1.5},
        {"testbed": "nonexistent", "question_id": "q", "text": "unknown testbed",
         "probability": 0.5},
        {**RH, "text": "unknown question", "question_id": "not_asked", "probability": 0.5},
        {"testbed": "nonexistent", "question_id": "q2", "text": "unknown testbed again",
         "probability": 0.5},
    ]


def test_score_claims_scores_claims_with_ground_truth_and_reports_the_rest(
    sqlite_store: Store,
) -> None:
    paper = add_paper(sqlite_store, _claims())
    source = TruthSource()

    report = score_claims(sqlite_store, truth_for=source, n_bins=2, n_boot=300, seed=3)

    # Ground truth is asked for once per testbed, and only for testbeds of scorable claims.
    assert sorted(source.calls) == ["nonexistent", "reward_hacking", "spurious"]
    assert report.n == 4
    assert report.predictions == (0.8, 0.3, 0.4, 0.9)
    assert report.outcomes == (True, False, True, True)
    assert [(c.testbed, c.question_id, c.artifact_id) for c in report.claims] == [
        ("reward_hacking", "penalty_reduces_hacking", paper),
        ("reward_hacking", "bigger_model_hacks_less", paper),
        ("reward_hacking", "penalty_reduces_hacking", paper),
        ("spurious", "probe_finds_feature", paper),
    ]

    p, y = np.array([0.8, 0.3, 0.4, 0.9]), np.array([1, 0, 1, 1])
    # Brier by hand: (0.04 + 0.09 + 0.36 + 0.01) / 4 = 0.125
    assert report.score("brier").value == pytest.approx(0.125)
    assert report.score("brier").value == pytest.approx(brier_score(p, y))
    assert report.score("log_loss").value == pytest.approx(log_loss(p, y))
    # 2 bins: {0.3, 0.4} with y {0, 1}: |0.5 - 0.35| = 0.15; {0.8, 0.9}, y {1, 1}: |1 - 0.85|
    # = 0.15; ECE = 0.15.
    assert report.score("ece").value == pytest.approx(0.15)
    assert report.score("ece").value == pytest.approx(expected_calibration_error(p, y, n_bins=2))
    for s in report.scores:
        assert (s.n, s.n_boot, s.level) == (4, 300, 0.95)
        assert s.ci_low <= s.ci_high
    assert report.scores == calibrate(p, y, n_bins=2, n_boot=300, seed=3).scores
    assert [b.count for b in report.bins] == [2, 2]

    assert report.skipped_counts() == {
        "no_question": 1, "no_probability": 1, "bad_probability": 1, "unknown_testbed": 2,
        "unknown_question": 1,
    }
    details = {s.reason: s.detail for s in report.skipped}
    assert "unknown testbed 'nonexistent'" in details["unknown_testbed"]
    assert "'not_asked'" in details["unknown_question"]
    assert "1.5" in details["bad_probability"]


def test_score_claims_with_nothing_to_score_has_no_scores(sqlite_store: Store) -> None:
    add_paper(sqlite_store, [{"text": "an ordinary claim", "probability": 0.6}])
    source = TruthSource()

    report = score_claims(sqlite_store, truth_for=source, n_boot=10)

    assert (report.n, report.scores, report.bins) == (0, (), ())
    assert report.skipped_counts() == {"no_question": 1}
    assert source.calls == []
    with pytest.raises(KeyError, match="no ece score"):
        report.score("ece")
    with pytest.raises(ValueError, match="nothing to draw"):
        reliability_diagram(report, Path("unused.png"))


def test_contradictory_ground_truth_is_a_data_error(sqlite_store: Store) -> None:
    add_paper(sqlite_store, _claims()[:1])

    def contradictory(name: str, /) -> list[Truth]:
        return [truth(name, "penalty_reduces_hacking", True),
                truth(name, "penalty_reduces_hacking", False)]

    with pytest.raises(DataError, match="both ways"):
        score_claims(sqlite_store, truth_for=contradictory, n_boot=10)


def test_score_claims_is_deterministic_given_a_seed(sqlite_store: Store) -> None:
    add_paper(sqlite_store, _claims())
    first = score_claims(sqlite_store, truth_for=TruthSource(), n_boot=200, seed=9)
    assert score_claims(sqlite_store, truth_for=TruthSource(), n_boot=200, seed=9) == first


def test_reliability_diagram_writes_a_png(sqlite_store: Store, tmp_path: Path) -> None:
    add_paper(sqlite_store, _claims())
    report = score_claims(sqlite_store, truth_for=TruthSource(), n_bins=2, n_boot=50)

    out = reliability_diagram(report, tmp_path / "figs" / "calibration.png")

    assert out == tmp_path / "figs" / "calibration.png"
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000


def test_reliability_diagram_of_arrays(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=300)
    y = rng.uniform(size=300) < p

    out = reliability_diagram((p, y), tmp_path / "arrays.png", n_bins=5, n_boot=50)

    assert out.read_bytes().startswith(PNG_MAGIC)


def test_the_default_ground_truth_skips_an_unknown_testbed(sqlite_store: Store) -> None:
    """The default `truth_for` is the testbeds' `ground_truth`; an unknown name raises its
    ConfigError, which becomes a skip (no testbed is run)."""
    add_paper(sqlite_store, [{"text": "t", "testbed": "no_such_testbed", "question_id": "q",
                              "probability": 0.5}])

    report = score_claims(sqlite_store, n_boot=10)

    assert report.n == 0
    (skip,) = report.skipped
    assert skip.reason == "unknown_testbed"
    assert "no_such_testbed" in skip.detail
