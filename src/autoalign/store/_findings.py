"""Flaws, judgments, claims and review requests: what critics and papers say about artifacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from ..errors import DataError
from ..vocabulary import ClaimSource, JudgmentSource
from ._records import (
    ClaimRecord,
    FlawRecord,
    JudgmentRecord,
)
from ._schema import (
    Artifact,
    Claim,
    Flaw,
    Judgment,
    ProvenanceEdge,
    ReviewRequest,
    utcnow,
)
from ._session import StoreBase

_CHUNK = 500
"""Ids per query: SQLite bounds the number of parameters of one statement."""


# A judge step writes its verdict on every step it runs: prebuilt Core statements on a plain
# connection, one transaction (an ORM session costs several times more on the hot path).
_JUDGED_BY = select(Judgment.artifact_id).where(
    Judgment.judge_artifact_id == bindparam("judge")
)
_INSERT_JUDGMENT = insert(Judgment)


class FindingsMixin(StoreBase):
    """Flaws, judgments, claims and human review requests, linked to artifacts."""

    def add_flaw(
        self,
        *,
        artifact_id: int,
        category: str,
        severity: str,
        description: str,
        found_by_id: int | None = None,
        critic: str | None = None,
        critic_version: str | None = None,
    ) -> FlawRecord:
        _check_critic(critic, critic_version)
        with self._write() as s:
            row = Flaw(
                artifact_id=artifact_id,
                found_by_id=found_by_id,
                category=category,
                severity=severity,
                description=description,
                critic=critic,
                critic_version=critic_version,
            )
            s.add(row)
            s.flush()
            return _flaw(row)

    def add_flaws(
        self,
        *,
        artifact_id: int,
        found_by_id: int | None,
        items: Sequence[Mapping[str, str]],
        critic: str | None = None,
        critic_version: str | None = None,
    ) -> list[FlawRecord]:
        """Record a critic report's flaws together, once: a second call for the same report
        returns what the first stored, so a resumed step cannot half-record or double-record.

        The report is `found_by_id` (the artifact holding the critic's reply) when there is
        one; a critic that writes no report artifact (a programmatic check) is identified by
        `critic` and `critic_version` on `artifact_id` instead.

        Raises:
            DataError: neither a report nor a critic identifies the flaws, or only one of
                `critic` and `critic_version` is given, or one is longer than its column.
        """
        _check_critic(critic, critic_version)
        if found_by_id is not None:
            existing = self.flaws(artifact_id=artifact_id, found_by_id=found_by_id)
        elif critic is not None:
            existing = self.flaws(
                artifact_id=artifact_id, critic=critic, critic_version=critic_version
            )
        else:
            raise DataError(
                f"flaws for artifact {artifact_id} need a report (found_by_id) or a critic id "
                "and version to be recorded once"
            )
        if existing:
            return existing
        with self._write() as s:
            for item in items:
                s.add(
                    Flaw(
                        artifact_id=artifact_id,
                        found_by_id=found_by_id,
                        category=item["category"],
                        severity=item["severity"],
                        description=item["description"],
                        critic=critic,
                        critic_version=critic_version,
                    )
                )
        if found_by_id is not None:
            return self.flaws(artifact_id=artifact_id, found_by_id=found_by_id)
        return self.flaws(artifact_id=artifact_id, critic=critic, critic_version=critic_version)

    def flaws(
        self,
        *,
        artifact_id: int | None = None,
        artifact_ids: Sequence[int] | None = None,
        found_by_id: int | None = None,
        critic: str | None = None,
        critic_version: str | None = None,
    ) -> list[FlawRecord]:
        """Flaws in insertion order; only an artifact's (or those of any of `artifact_ids`), a
        report's, or a critic's (version)."""
        query = select(Flaw).order_by(Flaw.id)
        if artifact_id is not None:
            query = query.where(Flaw.artifact_id == artifact_id)
        if found_by_id is not None:
            query = query.where(Flaw.found_by_id == found_by_id)
        if critic is not None:
            query = query.where(Flaw.critic == critic)
        if critic_version is not None:
            query = query.where(Flaw.critic_version == critic_version)
        with self._read() as s:
            if artifact_ids is None:
                return [_flaw(r) for r in s.scalars(query)]
            ids = sorted(set(artifact_ids))
            found = [
                _flaw(r)
                for i in range(0, len(ids), _CHUNK)
                for r in s.scalars(query.where(Flaw.artifact_id.in_(ids[i : i + _CHUNK])))
            ]
            return sorted(found, key=lambda f: f.id)

    def flaw(self, flaw_id: int) -> FlawRecord:
        """One flaw.

        Raises:
            DataError: there is no flaw with this id.
        """
        with self._read() as s:
            row = s.get(Flaw, flaw_id)
            if row is None:
                raise DataError(f"no flaw with id {flaw_id}")
            return _flaw(row)

    def add_judgment(
        self,
        *,
        artifact_id: int,
        role: str,
        score: float | None = None,
        decision: str | None = None,
        rationale: str = "",
        judge_artifact_id: int | None = None,
        model: str | None = None,
        other_artifact_id: int | None = None,
        source: JudgmentSource = JudgmentSource.MODEL,
        reviewer: str | None = None,
    ) -> JudgmentRecord:
        """Store one judgment. A pairwise judgment names its second item (`other_artifact_id`;
        `artifact_id` was shown first) and says which was better in `decision` (`first`,
        `second`, `tie`). A model's judgment names its `model`; a human's, its `reviewer`.

        Raises:
            DataError: a human judgment without a reviewer, or a pairwise one of an item with
                itself.
        """
        if source == JudgmentSource.HUMAN and not (reviewer or "").strip():
            raise DataError(f"a human judgment of artifact {artifact_id} needs a reviewer name")
        if other_artifact_id == artifact_id:
            raise DataError(f"a pairwise judgment compares artifact {artifact_id} with itself")
        with self._write() as s:
            row = Judgment(
                artifact_id=artifact_id,
                judge_artifact_id=judge_artifact_id,
                role=role,
                score=score,
                decision=decision,
                rationale=rationale,
                model=model,
                other_artifact_id=other_artifact_id,
                source=source.value,
                reviewer=reviewer,
            )
            s.add(row)
            s.flush()
            return _judgment(row)

    def add_verdicts(
        self,
        *,
        judge_artifact_id: int,
        artifact_ids: Sequence[int],
        role: str,
        score: float | None = None,
        decision: str | None = None,
        rationale: str = "",
        model: str | None = None,
        other_artifact_id: int | None = None,
    ) -> list[int]:
        """Store a model judge's verdict on each of `artifact_ids` that this judge
        (`judge_artifact_id`) has not judged yet, in one transaction: once per (artifact,
        judge), so a resumed step writes nothing new. Returns the artifacts judged now."""
        with self._write_conn() as conn:
            judged = set(conn.execute(_JUDGED_BY, {"judge": judge_artifact_id}).scalars())
            todo = [a for a in dict.fromkeys(artifact_ids) if a not in judged]
            if todo:
                now = utcnow()
                conn.execute(_INSERT_JUDGMENT, [
                    {"artifact_id": a, "judge_artifact_id": judge_artifact_id, "role": role,
                     "score": score, "decision": decision, "rationale": rationale,
                     "model": model, "other_artifact_id": other_artifact_id,
                     "source": JudgmentSource.MODEL.value, "reviewer": None, "created_at": now}
                    for a in todo
                ])
        return todo

    def judgments(
        self,
        *,
        artifact_id: int | None = None,
        judge_artifact_id: int | None = None,
        source: JudgmentSource | None = None,
    ) -> list[JudgmentRecord]:
        """Judgments matching every filter given, oldest first. `artifact_id` matches either
        item of a pairwise judgment."""
        query = select(Judgment).order_by(Judgment.id)
        if artifact_id is not None:
            query = query.where(
                (Judgment.artifact_id == artifact_id)
                | (Judgment.other_artifact_id == artifact_id)
            )
        if judge_artifact_id is not None:
            query = query.where(Judgment.judge_artifact_id == judge_artifact_id)
        if source is not None:
            query = query.where(Judgment.source == source.value)
        with self._read() as s:
            return [_judgment(r) for r in s.scalars(query)]

    def pairwise_judgments(
        self, *, kind: str, source: JudgmentSource | None = None
    ) -> list[JudgmentRecord]:
        """Pairwise judgments whose first item is an artifact of `kind` (e.g. every human
        comparison of positive cases), oldest first."""
        query = (
            select(Judgment)
            .join(Artifact, Artifact.id == Judgment.artifact_id)
            .where(Judgment.other_artifact_id.is_not(None), Artifact.kind == kind)
            .order_by(Judgment.id)
        )
        if source is not None:
            query = query.where(Judgment.source == source.value)
        with self._read() as s:
            return [_judgment(r) for r in s.scalars(query)]

    def existing_ids(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` are artifacts in the database (for checking cited ids)."""
        wanted = sorted({int(i) for i in ids})
        found: set[int] = set()
        with self._read() as s:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                found.update(s.scalars(select(Artifact.id).where(Artifact.id.in_(chunk))))
        return found

    def topic_names(self, ids: Sequence[int]) -> dict[int, str]:
        """The topic each of `ids` derives from directly (a positive case's topic), by name;
        ids without a topic parent are left out."""
        wanted = sorted({int(i) for i in ids})
        names: dict[int, str] = {}
        with self._read() as s:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                rows = s.execute(
                    select(ProvenanceEdge.child_id, Artifact.title)
                    .join(Artifact, Artifact.id == ProvenanceEdge.parent_id)
                    .where(ProvenanceEdge.child_id.in_(chunk), Artifact.kind == "topic")
                )
                for child, title in rows:
                    names.setdefault(int(child), title or "")
        return names

    def add_claims(
        self,
        *,
        artifact_id: int,
        items: Sequence[Mapping[str, Any]],
        source: ClaimSource,
    ) -> list[ClaimRecord]:
        """Record an artifact's claims together, once (idempotent like `add_flaws`).

        Each item has `text` and optionally `effect`, `ci_low`, `ci_high`, `probability`, and,
        for a claim that answers a testbed question, both `testbed` and `question_id`; its
        `probability` is then the probability that the question's answer is "yes". `source`
        says who produced the probabilities: `study` (a formula, no model) or `pipeline` (an
        agent, the model of the artifact `artifact_id`); calibration reports them apart.

        Raises:
            DataError: `source` is not a `ClaimSource`, an item names a testbed without a
                question or the other way round, or a name is longer than its column.
        """
        try:
            source = ClaimSource(source)
        except ValueError:
            raise DataError(
                f"claims of artifact {artifact_id} have source {source!r}; it must be one of "
                f"{', '.join(repr(s.value) for s in ClaimSource)}"
            ) from None
        existing = self.claims(artifact_id=artifact_id)
        if existing:
            return existing
        for item in items:
            testbed, question = item.get("testbed"), item.get("question_id")
            if (testbed is None) != (question is None):
                raise DataError(
                    f"a claim names testbed={testbed!r} and question_id={question!r}; give both "
                    "(a claim about a testbed question) or neither"
                )
            for field, value, limit in (("testbed", testbed, 50), ("question_id", question, 100)):
                if value is not None and not (isinstance(value, str) and 0 < len(value) <= limit):
                    raise DataError(
                        f"claim {field} {value!r} must be a non-empty string of at most {limit} "
                        "characters"
                    )
        with self._write() as s:
            for item in items:
                s.add(
                    Claim(
                        artifact_id=artifact_id,
                        text=item["text"],
                        effect=item.get("effect"),
                        ci_low=item.get("ci_low"),
                        ci_high=item.get("ci_high"),
                        probability=item.get("probability"),
                        testbed=item.get("testbed"),
                        question_id=item.get("question_id"),
                        source=source,
                    )
                )
        return self.claims(artifact_id=artifact_id)

    def claims(
        self, *, artifact_id: int | None = None, testbed: str | None = None
    ) -> list[ClaimRecord]:
        """Claims in insertion order; only an artifact's, or only those about a testbed. Each
        carries its artifact's model, read by join."""
        query = (
            select(Claim, Artifact.model)
            .join(Artifact, Claim.artifact_id == Artifact.id)
            .order_by(Claim.id)
        )
        if artifact_id is not None:
            query = query.where(Claim.artifact_id == artifact_id)
        if testbed is not None:
            query = query.where(Claim.testbed == testbed)
        with self._read() as s:
            return [
                ClaimRecord(
                    id=r.id,
                    artifact_id=r.artifact_id,
                    text=r.text,
                    effect=r.effect,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    probability=r.probability,
                    source=ClaimSource(r.source),
                    model=model,
                    testbed=r.testbed,
                    question_id=r.question_id,
                )
                for r, model in s.execute(query)
            ]

    def add_review_request(self, *, artifact_id: int, reason: str) -> int:
        """Escalate an artifact to a human; asking twice for the same reason keeps one request."""
        with self._write() as s:
            found = s.scalars(
                select(ReviewRequest.id).where(
                    ReviewRequest.artifact_id == artifact_id, ReviewRequest.reason == reason
                )
            ).first()
            if found is not None:
                return found
            row = ReviewRequest(artifact_id=artifact_id, reason=reason)
            s.add(row)
            s.flush()
            return row.id

    def count_review_requests(self, *, status: str = "open") -> int:
        """How many review requests have `status`."""
        with self._read() as s:
            query = select(func.count(ReviewRequest.id)).where(ReviewRequest.status == status)
            return int(s.scalar(query) or 0)


def _flaw(row: Flaw) -> FlawRecord:
    return FlawRecord(
        id=row.id,
        artifact_id=row.artifact_id,
        found_by_id=row.found_by_id,
        category=row.category,
        severity=row.severity,
        description=row.description,
        critic=row.critic,
        critic_version=row.critic_version,
    )


def _check_critic(critic: str | None, version: str | None) -> None:
    if (critic is None) != (version is None):
        raise DataError(
            f"a flaw names critic={critic!r} and critic_version={version!r}; give both or neither"
        )
    for field, value, limit in (("critic", critic, 100), ("critic_version", version, 50)):
        if value is not None and not 0 < len(value) <= limit:
            raise DataError(f"flaw {field} {value!r} must be 1 to {limit} characters")


def _judgment(row: Judgment) -> JudgmentRecord:
    return JudgmentRecord(
        id=row.id,
        artifact_id=row.artifact_id,
        judge_artifact_id=row.judge_artifact_id,
        role=row.role,
        score=row.score,
        decision=row.decision,
        rationale=row.rationale,
        model=row.model,
        other_artifact_id=row.other_artifact_id,
        source=row.source or JudgmentSource.MODEL.value,
        reviewer=row.reviewer,
        created_at=row.created_at,
    )
