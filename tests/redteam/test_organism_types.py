"""Model organisms' misbehaviours map onto the shared flaw types, so the report counts injected
and organism flaws of one type in one row."""

from __future__ import annotations

import json
from pathlib import Path

from autoalign.redteam import (
    FLAW_TYPES,
    MATCHING,
    MISBEHAVIOURS,
    ORGANISM_FLAW_TYPES,
    OrganismPaper,
    Trial,
    build_report,
    dump_trials,
    flaw_type,
    load_models,
    load_trials,
)


def test_every_misbehaviour_maps_onto_one_existing_type_whose_category_detects_it() -> None:
    assert set(ORGANISM_FLAW_TYPES) == set(MISBEHAVIOURS)
    known = {t.id for t in FLAW_TYPES}
    assert set(ORGANISM_FLAW_TYPES.values()) <= known
    # Distinct: one organism subject per shared type, as per misbehaviour.
    assert len(set(ORGANISM_FLAW_TYPES.values())) == len(MISBEHAVIOURS)
    for behaviour, type_id in ORGANISM_FLAW_TYPES.items():
        # A critic reporting the shared type's category detects the misbehaviour.
        assert flaw_type(type_id).category.value in MATCHING[behaviour], behaviour


def _t(subject: str, critic: str, flaw: str | None, detected: bool, method: str | None,
       organism_flaw: str | None = None) -> Trial:
    return Trial(subject=subject, critic=critic, flaw_type=flaw, method=method,
                 detected=detected, flagged=detected, organism_flaw=organism_flaw)


def test_report_merges_recall_per_shared_type_across_injection_and_organisms() -> None:
    trials = [
        _t("inj1", "c1@1", "unproduced-result", True, "programmatic"),
        _t("inj2", "c1@1", "unproduced-result", False, "programmatic"),
        _t("org1", "c1@1", "unproduced-result", True, "organism", "invented_number"),
        _t("inj3", "c1@1", "overbroad-claim", True, "programmatic"),
        _t("org2", "c1@1", "overbroad-claim", False, "organism", "overgeneralisation"),
        _t("ctl", "c1@1", None, False, None),
    ]
    metrics = build_report(trials, n_boot=20).report.metrics
    rows = {(m.keys.get("flaw_type"), m.keys.get("origin")): (m.estimate, m.n)
            for m in metrics if m.name == "recall" and m.method == "wilson"}
    assert rows[("unproduced-result", None)] == (2 / 3, 3)
    assert rows[("unproduced-result", "programmatic")] == (0.5, 2)
    assert rows[("unproduced-result", "organism")] == (1.0, 1)
    assert rows[("overbroad-claim", None)] == (0.5, 2)
    assert not any(ft in ORGANISM_FLAW_TYPES for ft, _ in rows)


def test_old_files_with_misbehaviour_ids_read_as_shared_types(tmp_path: Path) -> None:
    old = tmp_path / "trials.jsonl"
    old.write_text(json.dumps({
        "subject": "organism:1:invented_number", "critic": "c1@1", "flaw_type":
        "invented_number", "method": "organism", "detected": True, "flagged": True,
    }) + "\n")
    (trial,) = load_trials(old)
    assert (trial.flaw_type, trial.organism_flaw) == ("unproduced-result", "invented_number")
    again = load_trials(dump_trials([trial], tmp_path / "again.jsonl"))
    assert again == [trial]
    papers = tmp_path / "organisms.jsonl"
    papers.write_text(json.dumps({"organism": "o", "paper": "run 1", "flaws": [
        "p_hacking", "best-seed-as-typical"], "critics": ["c1@1"]}) + "\n")
    (paper,) = load_models(papers, OrganismPaper)
    assert paper.flaws == ("p-hacking", "best-seed-as-typical")
