"""Storing a critic's findings as flaw records, with the critic's id and version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..store import FlawRecord, Store
from ._finding import Finding
from ._protocol import Critic


def record_findings(
    store: Store,
    *,
    critic: Critic[Any],
    findings: Sequence[Finding],
    found_by_id: int | None = None,
) -> list[FlawRecord]:
    """Store `findings` as flaws on the artifacts they point at, once.

    Each flaw records `critic.id` and `critic.version`; its description holds the finding's
    evidence, location and confidence. Recording the same critic's findings again (a resumed
    step) returns what was stored, per artifact, and writes nothing.

    Args:
        store: the research database.
        critic: the critic that found them.
        findings: its findings.
        found_by_id: the artifact holding the critic's report, if it wrote one (an LLM
            critic's reply); programmatic critics have none.
    """
    by_artifact: dict[int, list[Finding]] = {}
    for finding in findings:
        by_artifact.setdefault(finding.location.artifact_id, []).append(finding)
    stored: list[FlawRecord] = []
    for artifact_id, items in by_artifact.items():
        stored.extend(store.add_flaws(
            artifact_id=artifact_id,
            found_by_id=found_by_id,
            critic=critic.id,
            critic_version=critic.version,
            items=[
                {
                    "category": f.category.value,
                    "severity": f.severity.value,
                    "description": f.stored_description(),
                }
                for f in items
            ],
        ))
    return stored
