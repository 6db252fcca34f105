"""The `Store`: every read and write of the research database goes through it."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, create_engine, event, func, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DataError, RunBusyError, StoreError
from . import _migrate, _provenance
from ._records import (
    ArtifactRecord,
    CacheRecord,
    CallRecord,
    ClaimRecord,
    EdgeRecord,
    EventRecord,
    FlawRecord,
    JudgmentRecord,
    RunRecord,
    UsageTotals,
)
from ._schema import (
    Artifact,
    ArtifactEvent,
    CacheEntry,
    Claim,
    Flaw,
    Judgment,
    LLMCall,
    ProvenanceEdge,
    ReviewRequest,
    Run,
    utcnow,
)

DEFAULT_DB_PATH = Path(".autoalign") / "research.db"
DB_ENV_VAR = "AUTOALIGN_DB"

Parent = int | tuple[int, str]
"""A provenance parent: an artifact id, or (id, relation)."""


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else `$AUTOALIGN_DB`, else the SQLite default."""
    if url:
        return url
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return env
    return f"sqlite:///{DEFAULT_DB_PATH}"


def _enable_wal(cursor: Any, *, timeout_s: float = 30.0) -> None:
    """Switch the file to WAL (the mode persists in the file).

    Switching needs the file to itself, and SQLite answers "locked" at once, without waiting out
    the busy timeout, while another connection is opening a new database too; so retry a while.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def make_engine(url: str) -> Engine:
    """An engine with SQLite set up for concurrent readers: WAL, foreign keys, a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            _enable_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def _run(row: Run) -> RunRecord:
    return RunRecord(
        id=row.id,
        name=row.name,
        agenda_digest=row.agenda_digest,
        config=row.config,
        seed=row.seed,
        status=row.status,
        stop_reason=row.stop_reason,
        owner=row.owner,
        budget_tokens=row.budget_tokens,
        budget_usd=row.budget_usd,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _artifact(row: Artifact, status: str) -> ArtifactRecord:
    return ArtifactRecord(
        id=row.id,
        run_id=row.run_id,
        kind=row.kind,
        stage=row.stage,
        role=row.role,
        model=row.model,
        prompt_digest=row.prompt_digest,
        step_key=row.step_key,
        title=row.title,
        content_text=row.content_text,
        content_json=row.content_json,
        status=status,
        created_at=row.created_at,
    )


def _call(row: LLMCall) -> CallRecord:
    return CallRecord(
        id=row.id,
        run_id=row.run_id,
        role=row.role,
        model=row.model,
        step_key=row.step_key,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        latency_s=row.latency_s,
        cost_usd=row.cost_usd,
        cache_hit=row.cache_hit,
        attempts=row.attempts,
        error=row.error,
    )


class Store:
    """The research database.

    Writes are serialised through one lock (SQLite allows one writer; the lock keeps async
    fan-out from fighting over it). Records returned are frozen copies, safe to keep.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> Store:
        """Open (and by default migrate to the latest schema) the database at `url`.

        Raises:
            SchemaVersionError: the database was written by a newer autoalign.
            StoreError: the database cannot be reached or read.
        """
        resolved = resolve_url(url)
        engine = make_engine(resolved)
        try:
            if migrate:
                _migrate.upgrade_to_head(engine)
            else:
                _migrate.check_not_newer(engine)
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open database {_safe_url(resolved)}: {exc.orig}") from exc
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._write_lock, self._sessions() as session, session.begin():
            yield session

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        name: str,
        agenda_digest: str,
        config: dict[str, Any],
        seed: int = 0,
        budget_tokens: int | None = None,
        budget_usd: float | None = None,
    ) -> RunRecord:
        with self._write() as s:
            row = Run(
                name=name,
                agenda_digest=agenda_digest,
                config=config,
                seed=seed,
                status="running",
                budget_tokens=budget_tokens,
                budget_usd=budget_usd,
            )
            s.add(row)
            s.flush()
            return _run(row)

    def get_run(self, run_id: int) -> RunRecord:
        with self._read() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}; `autoalign show runs` lists them")
            return _run(row)

    def latest_run(self, *, agenda_digest: str) -> RunRecord | None:
        with self._read() as s:
            row = s.scalars(
                select(Run).where(Run.agenda_digest == agenda_digest).order_by(Run.id.desc())
            ).first()
            return _run(row) if row else None

    def list_runs(self) -> list[RunRecord]:
        with self._read() as s:
            return [_run(r) for r in s.scalars(select(Run).order_by(Run.id))]

    def set_run_status(
        self,
        run_id: int,
        status: str,
        *,
        reason: str | None = None,
        budget_tokens: int | None = None,
        budget_usd: float | None = None,
    ) -> None:
        """Change a run's status; a resumed run also records the budget it now runs under."""
        with self._write() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise DataError(f"no run with id {run_id}")
            if status == "running":
                row.budget_tokens = budget_tokens
                row.budget_usd = budget_usd
            else:
                row.owner = None
            row.status = status
            row.stop_reason = reason
            row.updated_at = utcnow()
            row.finished_at = utcnow() if status != "running" else None

    def claim_run(self, run_id: int, *, takeover: bool = False) -> None:
        """Make this process the run's owner, so that no second process executes it at once.

        A run owned by a live process on this host is refused; so is one owned by a process on
        another host (whose liveness cannot be checked here) unless `takeover` is set. A run
        whose owner died (killed, crashed) is taken over silently: that is how a killed run
        resumes.

        Raises:
            RunBusyError: another process executes the run.
        """
        me = f"{socket.gethostname()}:{os.getpid()}"
        owner = self.get_run(run_id).owner
        if owner and owner != me and not takeover:
            host, _, pid = owner.rpartition(":")
            if host != socket.gethostname():
                raise RunBusyError(
                    f"run {run_id} is being executed by process {pid} on host {host}; wait "
                    "for it, or pass --takeover if that process is gone"
                )
            if _alive(int(pid)):
                raise RunBusyError(
                    f"run {run_id} is being executed by process {pid} on this host; wait "
                    f"for it to finish, or stop it (kill {pid}) and run again to resume"
                )
        # Compare-and-set: if another process claimed the run since we read it, we lose.
        unchanged = Run.owner.is_(None) if owner is None else Run.owner == owner
        with self._write() as s:
            result = s.execute(update(Run).where(Run.id == run_id, unchanged).values(owner=me))
            claimed = cast(CursorResult[Any], result).rowcount
        if claimed != 1:
            raise RunBusyError(f"run {run_id} was just started by another process")

    # -- artifacts ---------------------------------------------------------------------------

    def add_artifact(
        self,
        *,
        run_id: int | None,
        kind: str,
        stage: str,
        content_text: str = "",
        content_json: Any = None,
        role: str | None = None,
        model: str | None = None,
        prompt_digest: str | None = None,
        step_key: str | None = None,
        title: str | None = None,
        status: str = "ok",
        parents: Sequence[Parent] = (),
    ) -> ArtifactRecord:
        """Insert an artifact, its creation event and its provenance edges in one transaction.

        If `step_key` is given and the run already has an artifact for that step, that artifact
        is returned and nothing is written: a resumed step never duplicates its output.
        """
        if step_key is not None and run_id is not None:
            existing = self.artifact_by_step(run_id, step_key)
            if existing is not None:
                return existing
        edges: dict[int, str] = {}
        for parent in parents:
            pid, relation = (parent, "derived_from") if isinstance(parent, int) else parent
            edges.setdefault(pid, relation)
        try:
            with self._write() as s:
                row = Artifact(
                    run_id=run_id,
                    kind=kind,
                    stage=stage,
                    role=role,
                    model=model,
                    prompt_digest=prompt_digest,
                    step_key=step_key,
                    title=title,
                    content_text=content_text,
                    content_json=content_json,
                    initial_status=status,
                )
                s.add(row)
                s.flush()
                s.add(ArtifactEvent(artifact_id=row.id, status=status, reason="created"))
                for pid, relation in edges.items():
                    s.add(ProvenanceEdge(child_id=row.id, parent_id=pid, relation=relation))
                s.flush()
                return _artifact(row, status)
        except IntegrityError as exc:
            if step_key is not None and run_id is not None:
                # Another writer stored this step between our check and our insert.
                raced = self.artifact_by_step(run_id, step_key)
                if raced is not None:
                    return raced
            raise DataError(
                f"cannot store {kind} artifact (step {step_key!r}): {exc.orig}; "
                f"check that parents {sorted(edges)} exist"
            ) from exc

    def _status_of(self, s: Session, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        latest = (
            select(ArtifactEvent.artifact_id, func.max(ArtifactEvent.id).label("eid"))
            .where(ArtifactEvent.artifact_id.in_(ids))
            .group_by(ArtifactEvent.artifact_id)
            .subquery()
        )
        rows = s.execute(
            select(ArtifactEvent.artifact_id, ArtifactEvent.status).join(
                latest, ArtifactEvent.id == latest.c.eid
            )
        )
        return {aid: status for aid, status in rows}

    def artifact(self, artifact_id: int) -> ArtifactRecord:
        with self._read() as s:
            row = s.get(Artifact, artifact_id)
            if row is None:
                raise DataError(f"no artifact with id {artifact_id}")
            return _artifact(row, self._status_of(s, [row.id])[row.id])

    def artifact_by_step(self, run_id: int, step_key: str) -> ArtifactRecord | None:
        with self._read() as s:
            row = s.scalars(
                select(Artifact).where(Artifact.run_id == run_id, Artifact.step_key == step_key)
            ).first()
            if row is None:
                return None
            return _artifact(row, self._status_of(s, [row.id])[row.id])

    def artifacts(
        self,
        *,
        run_id: int | None = None,
        kind: str | None = None,
        stage: str | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[ArtifactRecord]:
        """Artifacts matching every filter given, in creation order."""
        query = select(Artifact).order_by(Artifact.id)
        if run_id is not None:
            query = query.where(Artifact.run_id == run_id)
        if kind is not None:
            query = query.where(Artifact.kind == kind)
        if stage is not None:
            query = query.where(Artifact.stage == stage)
        if ids is not None:
            query = query.where(Artifact.id.in_(list(ids)))
        with self._read() as s:
            rows = list(s.scalars(query))
            statuses: dict[int, str] = {}
            chunk = 500  # stay under SQLite's bound-parameter limit
            for i in range(0, len(rows), chunk):
                statuses.update(self._status_of(s, [r.id for r in rows[i : i + chunk]]))
            return [_artifact(r, statuses[r.id]) for r in rows]

    def set_status(self, artifact_id: int, status: str, *, reason: str | None = None) -> None:
        """Record a status change as a new event; the artifact row itself never changes."""
        with self._write() as s:
            if s.get(Artifact, artifact_id) is None:
                raise DataError(f"no artifact with id {artifact_id}")
            s.add(ArtifactEvent(artifact_id=artifact_id, status=status, reason=reason))

    def status_history(self, artifact_id: int) -> list[EventRecord]:
        with self._read() as s:
            rows = s.scalars(
                select(ArtifactEvent)
                .where(ArtifactEvent.artifact_id == artifact_id)
                .order_by(ArtifactEvent.id)
            )
            return [
                EventRecord(
                    artifact_id=r.artifact_id, status=r.status, reason=r.reason,
                    created_at=r.created_at,
                )
                for r in rows
            ]

    def parents(self, artifact_id: int) -> list[EdgeRecord]:
        """Direct provenance edges out of `artifact_id`, i.e. what it was made from."""
        with self._read() as s:
            rows = s.scalars(
                select(ProvenanceEdge)
                .where(ProvenanceEdge.child_id == artifact_id)
                .order_by(ProvenanceEdge.parent_id)
            )
            return [
                EdgeRecord(child_id=r.child_id, parent_id=r.parent_id, relation=r.relation)
                for r in rows
            ]

    def ancestors(self, artifact_id: int) -> list[int]:
        """Every artifact `artifact_id` was built from, transitively (ids, ascending)."""
        with self._read() as s:
            return _provenance.ancestors(s, artifact_id)

    def descendants(self, artifact_id: int) -> list[int]:
        """Every artifact built (transitively) from `artifact_id` (ids, ascending)."""
        with self._read() as s:
            return _provenance.descendants(s, artifact_id)

    # -- the LLM call ledger and response cache ---------------------------------------------

    def record_call(
        self,
        *,
        run_id: int | None,
        role: str,
        model: str,
        step_key: str | None = None,
        cache_key: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        latency_s: float = 0.0,
        cost_usd: float | None = None,
        cache_hit: bool = False,
        attempts: int = 1,
        error: str | None = None,
        answer: CacheRecord | None = None,
    ) -> None:
        """Add a ledger row; with `answer`, also cache it, in the same transaction, so a process
        killed in between can never leave a paid call that a resumed run would pay again."""
        with self._write() as s:
            if answer is not None and s.get(CacheEntry, answer.key) is None:
                s.add(
                    CacheEntry(
                        key=answer.key,
                        model=answer.model,
                        request=answer.request,
                        raw=answer.raw,
                        output=answer.output,
                        error=answer.error,
                        input_tokens=answer.input_tokens,
                        output_tokens=answer.output_tokens,
                    )
                )
            s.add(
                LLMCall(
                    run_id=run_id,
                    role=role,
                    model=model,
                    step_key=step_key,
                    cache_key=cache_key,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    latency_s=latency_s,
                    cost_usd=cost_usd,
                    cache_hit=cache_hit,
                    attempts=attempts,
                    error=error,
                )
            )

    def calls(self, *, run_id: int | None = None) -> list[CallRecord]:
        query = select(LLMCall).order_by(LLMCall.id)
        if run_id is not None:
            query = query.where(LLMCall.run_id == run_id)
        with self._read() as s:
            return [_call(r) for r in s.scalars(query)]

    def run_usage(self, run_id: int) -> UsageTotals:
        """Ledger totals of a run, aggregated in SQL (the budget check calls this per call)."""
        paid = LLMCall.cache_hit.is_(False)
        query = select(
            func.count(LLMCall.id),
            func.count(LLMCall.id).filter(LLMCall.cache_hit.is_(True)),
            func.count(LLMCall.id).filter(LLMCall.error.is_not(None)),
            func.coalesce(func.sum(LLMCall.input_tokens).filter(paid), 0),
            func.coalesce(func.sum(LLMCall.output_tokens).filter(paid), 0),
            func.coalesce(func.sum(LLMCall.cost_usd).filter(paid), 0.0),
            func.count(LLMCall.id).filter(paid, LLMCall.cost_usd.is_(None)),
            func.coalesce(func.sum(LLMCall.latency_s), 0.0),
        ).where(LLMCall.run_id == run_id)
        with self._read() as s:
            row = s.execute(query).one()
        calls, hits, errors, tokens_in, tokens_out, cost, unpriced, latency = row
        return UsageTotals(
            calls=int(calls),
            cache_hits=int(hits),
            errors=int(errors),
            input_tokens=int(tokens_in),
            output_tokens=int(tokens_out),
            cost_usd=float(cost or 0.0),
            unpriced_calls=int(unpriced),
            latency_s=float(latency or 0.0),
        )

    def cache_get(self, key: str) -> CacheRecord | None:
        with self._read() as s:
            row = s.get(CacheEntry, key)
            if row is None:
                return None
            return CacheRecord(
                key=row.key,
                model=row.model,
                raw=row.raw,
                output=row.output,
                error=row.error,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
            )

    def cache_put(
        self,
        *,
        key: str,
        model: str,
        request: Any,
        raw: str,
        output: Any,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> None:
        """Store an answer; a second put of the same key keeps the first (answers are final)."""
        with self._write() as s:
            if s.get(CacheEntry, key) is not None:
                return
            s.add(
                CacheEntry(
                    key=key,
                    model=model,
                    request=request,
                    raw=raw,
                    output=output,
                    error=error,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                )
            )

    # -- flaws, judgments, claims, review requests -------------------------------------------

    def add_flaw(
        self,
        *,
        artifact_id: int,
        category: str,
        severity: str,
        description: str,
        found_by_id: int | None = None,
    ) -> FlawRecord:
        with self._write() as s:
            row = Flaw(
                artifact_id=artifact_id,
                found_by_id=found_by_id,
                category=category,
                severity=severity,
                description=description,
            )
            s.add(row)
            s.flush()
            return _flaw(row)

    def add_flaws(
        self, *, artifact_id: int, found_by_id: int, items: Sequence[Mapping[str, str]]
    ) -> list[FlawRecord]:
        """Record a critic report's flaws together, once: a second call for the same report
        returns what the first stored, so a resumed step cannot half-record or double-record."""
        existing = self.flaws(found_by_id=found_by_id)
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
                    )
                )
        return self.flaws(found_by_id=found_by_id)

    def flaws(self, *, artifact_id: int | None = None, found_by_id: int | None = None) -> list[
        FlawRecord
    ]:
        query = select(Flaw).order_by(Flaw.id)
        if artifact_id is not None:
            query = query.where(Flaw.artifact_id == artifact_id)
        if found_by_id is not None:
            query = query.where(Flaw.found_by_id == found_by_id)
        with self._read() as s:
            return [_flaw(r) for r in s.scalars(query)]

    def add_judgment(
        self,
        *,
        artifact_id: int,
        role: str,
        score: float | None = None,
        decision: str | None = None,
        rationale: str = "",
        judge_artifact_id: int | None = None,
    ) -> JudgmentRecord:
        with self._write() as s:
            row = Judgment(
                artifact_id=artifact_id,
                judge_artifact_id=judge_artifact_id,
                role=role,
                score=score,
                decision=decision,
                rationale=rationale,
            )
            s.add(row)
            s.flush()
            return _judgment(row)

    def judgments(self, *, artifact_id: int | None = None, judge_artifact_id: int | None = None
                  ) -> list[JudgmentRecord]:
        query = select(Judgment).order_by(Judgment.id)
        if artifact_id is not None:
            query = query.where(Judgment.artifact_id == artifact_id)
        if judge_artifact_id is not None:
            query = query.where(Judgment.judge_artifact_id == judge_artifact_id)
        with self._read() as s:
            return [_judgment(r) for r in s.scalars(query)]

    def add_claims(
        self, *, artifact_id: int, items: Sequence[Mapping[str, Any]]
    ) -> list[ClaimRecord]:
        """Record an artifact's claims together, once (idempotent like `add_flaws`).

        Each item has `text` and optionally `effect`, `ci_low`, `ci_high`, `probability`, and,
        for a claim that answers a testbed question, both `testbed` and `question_id`; its
        `probability` is then the probability that the question's answer is "yes".

        Raises:
            DataError: an item names a testbed without a question or the other way round, or
                a name longer than its column.
        """
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
                    )
                )
        return self.claims(artifact_id=artifact_id)

    def claims(
        self, *, artifact_id: int | None = None, testbed: str | None = None
    ) -> list[ClaimRecord]:
        """Claims in insertion order; only an artifact's, or only those about a testbed."""
        query = select(Claim).order_by(Claim.id)
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
                    testbed=r.testbed,
                    question_id=r.question_id,
                )
                for r in s.scalars(query)
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


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    return True


def _flaw(row: Flaw) -> FlawRecord:
    return FlawRecord(
        id=row.id,
        artifact_id=row.artifact_id,
        found_by_id=row.found_by_id,
        category=row.category,
        severity=row.severity,
        description=row.description,
    )


def _judgment(row: Judgment) -> JudgmentRecord:
    return JudgmentRecord(
        id=row.id,
        artifact_id=row.artifact_id,
        judge_artifact_id=row.judge_artifact_id,
        role=row.role,
        score=row.score,
        decision=row.decision,
        rationale=row.rationale,
    )


def _safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url

