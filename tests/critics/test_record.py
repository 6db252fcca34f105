"""Findings stored as flaws: on the artifact they point at, with the critic's id and version."""

from __future__ import annotations

import pytest

from autoalign.critics import (
    Finding,
    FlawCategory,
    Location,
    Severity,
    get_critic,
    record_findings,
)
from autoalign.errors import DataError
from autoalign.store import Store


def _finding(artifact_id: int, what: str, severity: Severity = Severity.MAJOR) -> Finding:
    return Finding(
        category=FlawCategory.NUMBER_MISMATCH, severity=severity, description=what,
        evidence="logged 0.5; returned 0.4",
        location=Location(artifact_id=artifact_id, field="rows[0].value"), confidence=0.9,
    )


def test_findings_become_flaws_with_critic_id_and_version_once(store: Store) -> None:
    log = store.add_artifact(run_id=None, kind="research_log", stage="execute")
    interp = store.add_artifact(run_id=None, kind="interpretation", stage="execute")
    critic = get_critic("c1.numbers-match")
    findings = [_finding(log.id, "a"), _finding(interp.id, "b", Severity.CRITICAL),
                _finding(log.id, "c")]

    stored = record_findings(store, critic=critic, findings=findings)
    again = record_findings(store, critic=critic, findings=findings)

    assert again == stored
    assert len(store.flaws()) == 3
    by_artifact = {a: [f.description.split("\n")[0] for f in store.flaws(artifact_id=a)]
                   for a in (log.id, interp.id)}
    assert by_artifact == {log.id: ["a", "c"], interp.id: ["b"]}
    flaw = store.flaws(artifact_id=interp.id)[0]
    assert (flaw.critic, flaw.critic_version) == ("c1.numbers-match", "1")
    assert (flaw.category, flaw.severity) == ("number_mismatch", "critical")
    assert "Evidence: logged 0.5; returned 0.4" in flaw.description
    assert f"artifact {interp.id}, rows[0].value" in flaw.description
    assert store.flaws(critic="c1.numbers-match", critic_version="2") == []


def test_a_report_artifact_keys_the_flaws_of_an_llm_critic(store: Store) -> None:
    code = store.add_artifact(run_id=None, kind="worker_code", stage="execute")
    report = store.add_artifact(run_id=None, kind="critic_report", stage="execute")
    critic = get_critic("c1.spirit")
    record_findings(store, critic=critic, findings=[_finding(code.id, "x")],
                    found_by_id=report.id)
    record_findings(store, critic=critic, findings=[_finding(code.id, "x")],
                    found_by_id=report.id)
    [flaw] = store.flaws(found_by_id=report.id)
    assert (flaw.artifact_id, flaw.critic, flaw.critic_version) == (code.id, "c1.spirit", "1")


def test_existing_call_sites_without_a_critic_still_work(store: Store) -> None:
    paper = store.add_artifact(run_id=None, kind="paper", stage="writeup")
    report = store.add_artifact(run_id=None, kind="paper_critique", stage="examine")
    items = [{"category": "overclaiming", "severity": "minor", "description": "d"}]
    store.add_flaws(artifact_id=paper.id, found_by_id=report.id, items=items)
    [flaw] = store.add_flaws(artifact_id=paper.id, found_by_id=report.id, items=items)
    assert (flaw.critic, flaw.critic_version) == (None, None)
    single = store.add_flaw(artifact_id=paper.id, category="other", severity="minor",
                            description="by hand")
    assert single.critic is None


def test_flaws_need_a_key_and_a_whole_critic(store: Store) -> None:
    art = store.add_artifact(run_id=None, kind="research_log", stage="execute")
    items = [{"category": "other", "severity": "minor", "description": "d"}]
    with pytest.raises(DataError, match="need a report"):
        store.add_flaws(artifact_id=art.id, found_by_id=None, items=items)
    with pytest.raises(DataError, match="give both or neither"):
        store.add_flaws(artifact_id=art.id, found_by_id=None, items=items, critic="c1.x")
    with pytest.raises(DataError, match="1 to 100 characters"):
        store.add_flaws(artifact_id=art.id, found_by_id=None, items=items, critic="c" * 101,
                        critic_version="1")
    assert store.flaws() == []
