"""Examining a paper written elsewhere: import it and its logs as artifacts of a run of their
own, then run critic #2 (its programmatic checks and the LLM review) and report the flaws."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import autoalign

from ..critics import (
    CriticContext,
    CriticScale,
    Finding,
    LogNumber,
    PaperDraft,
    PaperReview,
    PaperSection,
    ProgrammaticCritic,
    Severity,
    get_critic,
    list_critics,
    record_findings,
)
from ..errors import DataError, ModelError
from ..models import ModelClient, ModelsConfig, check_models
from ..store import Store
from ..vocabulary import EMBEDDED_MODEL, Kind, Relation, Role, RunStatus, Stage
from ._logs import ImportedLog, read_logs
from ._paper import ImportedPaper, read_paper

DEFAULT_MODEL = EMBEDDED_MODEL
"""The model critic #2's review asks when `--model` is not given: the embedded one."""
MAX_LOG_PROMPT_CHARS = 8000
"""Most characters of the logs' numbers shown to the LLM critic (the checks see them all)."""
MAX_STORED_TEXT = 1_000_000
"""Most characters of a file's text stored on its artifact."""
_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2}


@dataclass(frozen=True, kw_only=True)
class ReportedFlaw:
    """One flaw of the examination, as the report prints it."""

    critic: str
    """`id@version` of the critic that found it."""
    category: str
    """Its category in the flaw taxonomy (`docs/flaws.md`)."""
    severity: str
    """`minor`, `major` or `critical`."""
    section: str
    """Where it is, in words: a section (with its heading) or `paper`."""
    artifact_id: int
    """The artifact it is stored on."""
    field: str | None
    """The part of the artifact (`text`, `claims[0]`), if one applies."""
    start: int | None
    """Start of the span in the section's text, if one applies."""
    end: int | None
    """End of the span (exclusive)."""
    description: str
    """What is wrong."""
    evidence: str
    """What the critic saw and compared it with."""


@dataclass(frozen=True, kw_only=True)
class ImportedPart:
    """An artifact the import wrote, for the report's header."""

    artifact_id: int
    """The artifact."""
    label: str
    """A section's name and heading, or a log's file name."""
    numbers: int = 0
    """Numbers read (for a log)."""


@dataclass(frozen=True, kw_only=True)
class Examination:
    """What `examine` imported and found."""

    run_id: int
    """The run the import is stored under."""
    paper_id: int
    """The `imported_paper` artifact."""
    title: str
    """The paper's title."""
    source: str
    """The paper's file name."""
    format: str
    """How it was read."""
    sections: tuple[ImportedPart, ...]
    """The `imported_section` artifacts checked."""
    logs: tuple[ImportedPart, ...]
    """The `imported_log` artifacts, with how many numbers each gave."""
    claims: int
    """Claims the abstract lists with a probability."""
    critics: tuple[str, ...]
    """`id@version` of every critic that ran."""
    model: str
    """The model critic #2's review asked."""
    decision: str | None
    """Critic #2's decision (None when its review did not run)."""
    summary: str | None
    """Critic #2's summary."""
    review_error: str | None
    """Why critic #2's LLM review gave nothing, if it did not."""
    flaws: tuple[ReportedFlaw, ...]
    """Every flaw, most severe first."""


def _digest(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _render_logs(logs: Sequence[ImportedLog]) -> str:
    """The logs' numbers as the LLM critic reads them, cut at `MAX_LOG_PROMPT_CHARS`."""
    if not logs:
        return "No experiment logs were given with this paper."
    lines: list[str] = []
    total = sum(len(log.values) for log in logs)
    used = 0
    for log in logs:
        lines.append(f"# {log.source}")
        for v in log.values:
            seed = "" if v.seed is None else f" seed {v.seed}"
            arm = f"{v.arm} " if v.arm else ""
            line = f"{arm}{v.metric}{seed} = {v.value!r}"
            if used + len(line) > MAX_LOG_PROMPT_CHARS:
                shown = sum(1 for ln in lines if not ln.startswith("# "))
                lines.append(f"({total - shown} more numbers not shown)")
                return "\n".join(lines)
            lines.append(line)
            used += len(line) + 1
    return "\n".join(lines)


def _store_import(
    store: Store, run_id: int, paper: ImportedPaper, raw: bytes, logs: Sequence[ImportedLog]
) -> tuple[int, list[tuple[PaperSection, int]], list[tuple[ImportedLog, int]]]:
    """The imported paper, its sections and its logs as artifacts, with provenance edges."""
    origin = {"imported_by": "autoalign examine", "autoalign_version": autoalign.__version__}
    stored_logs = []
    for log in logs:
        art = store.add_artifact(
            run_id=run_id, kind=Kind.IMPORTED_LOG, stage=Stage.EXAMINE, title=log.source,
            step_key=f"examine/log/{log.source}",
            content_text=log.text[:MAX_STORED_TEXT],
            content_json={
                **origin, "source": log.source, "format": log.format,
                "sha256": _digest(log.text), "numbers": [
                    {"arm": v.arm, "metric": v.metric, "seed": v.seed, "value": v.value,
                     "where": v.where} for v in log.values
                ],
            },
        )
        stored_logs.append((log, art.id))
    sections = []
    for i, section in enumerate(paper.sections):
        art = store.add_artifact(
            run_id=run_id, kind=Kind.IMPORTED_SECTION, stage=Stage.EXAMINE,
            title=section.heading, step_key=f"examine/section/{i}", content_text=section.text,
            content_json={"name": section.name, "heading": section.heading, "index": i},
        )
        sections.append((PaperSection(name=section.name, artifact_id=art.id, text=section.text,
                                      heading=section.heading), art.id))
    paper_art = store.add_artifact(
        run_id=run_id, kind=Kind.IMPORTED_PAPER, stage=Stage.EXAMINE, title=paper.title,
        step_key="examine/paper", content_text=paper.text[:MAX_STORED_TEXT],
        content_json={
            **origin, "source": paper.source, "format": paper.format, "sha256": _digest(raw),
            "title": paper.title, "sections": [sid for _, sid in sections],
            "logs": [lid for _, lid in stored_logs],
            "claims": [{"text": c.text, "probability": c.probability} for c in paper.claims],
        },
        parents=[*[(sid, Relation.CONTAINS) for _, sid in sections],
                 *[(lid, Relation.CONTEXT) for _, lid in stored_logs]],
    )
    return paper_art.id, sections, stored_logs


def _numbers(logs: Sequence[tuple[ImportedLog, int]]) -> tuple[LogNumber, ...]:
    return tuple(
        LogNumber(artifact_id=log_id, arm=v.arm, metric=v.metric, seed=v.seed, value=v.value,
                  where=v.where[:300])
        for log, log_id in logs for v in log.values
    )


def _reported(
    critic: str, findings: Sequence[Finding], where: dict[int, str]
) -> list[ReportedFlaw]:
    return [
        ReportedFlaw(
            critic=critic, category=f.category.value, severity=f.severity.value,
            section=where.get(f.location.artifact_id, "paper"),
            artifact_id=f.location.artifact_id, field=f.location.field,
            start=f.location.start, end=f.location.end, description=f.description,
            evidence=f.evidence,
        )
        for f in findings
    ]


def _review_critic() -> PaperReview:
    critic = get_critic("c2.review", scale=CriticScale.PAPER)
    if not isinstance(critic, PaperReview):
        raise DataError(f"critic c2.review is a {type(critic).__name__}, not a PaperReview")
    return critic


async def examine(
    store: Store, paper_path: Path, *, logs_dir: Path | None = None,
    model: str = DEFAULT_MODEL,
) -> Examination:
    """Import the paper at `paper_path` and the logs under `logs_dir` as a run of their own,
    run critic #2's programmatic checks and its LLM review (`c2.review`, asking `model`),
    record their flaws and return the report.

    Everything is read and the model checked before anything is written.

    Raises:
        UsageError: the paper or a log cannot be read (see `read_paper`, `read_logs`).
        ConfigError: `model` is not a usable `provider:model` id.
    """
    config = ModelsConfig(default=model)
    check_models(config, [Role.CRITIC_2.value])
    paper = read_paper(paper_path)
    raw = paper_path.read_bytes()
    logs = read_logs(logs_dir) if logs_dir is not None else []
    digest = _digest(json.dumps({
        "paper": _digest(raw), "logs": [(log.source, _digest(log.text)) for log in logs],
        "model": model,
    }, sort_keys=True))
    start = store.start_run(
        name=f"examine {paper.source}", agenda_digest=digest, new=True,
        config={"examine": paper.source, "logs": [log.source for log in logs], "model": model},
    )
    run_id = start.run.id
    try:
        result = await _examine(store, run_id, paper, raw, logs, config)
    except KeyboardInterrupt:
        store.set_run_status(run_id, RunStatus.STOPPED, reason="interrupted")
        raise
    except Exception as exc:
        store.set_run_status(run_id, RunStatus.FAILED, reason=f"{type(exc).__name__}: {exc}")
        raise
    store.set_run_status(run_id, RunStatus.COMPLETED)
    return result


async def _examine(
    store: Store, run_id: int, paper: ImportedPaper, raw: bytes, logs: Sequence[ImportedLog],
    config: ModelsConfig,
) -> Examination:
    paper_id, sections, stored_logs = _store_import(store, run_id, paper, raw, logs)
    draft = PaperDraft(
        paper_id=paper_id, title=paper.title, sections=tuple(s for s, _ in sections),
        research_log_id=None, research_log=_render_logs(logs), claims=paper.claims,
        numbers=_numbers(stored_logs),
    )
    where = {
        s.artifact_id: s.name.replace("_", " ") + (f" ({s.heading})" if s.heading else "")
        for s, _ in sections
    }
    flaws: list[ReportedFlaw] = []
    ran: list[str] = []
    for critic in list_critics(kind="programmatic", scale=CriticScale.PAPER):
        if not isinstance(critic, ProgrammaticCritic):
            continue
        found = critic.rule(draft)
        record_findings(store, critic=critic, findings=found)
        ran.append(f"{critic.id}@{critic.version}")
        flaws.extend(_reported(f"{critic.id}@{critic.version}", found, where))
    review = _review_critic()
    client = ModelClient(config=config, ledger=store, run_id=run_id)
    decision = summary = error = None
    try:
        output = await review.ask(draft, context=CriticContext(models=client))
    except (DataError, ModelError) as exc:
        error = str(exc)
    else:
        critique = store.add_artifact(
            run_id=run_id, kind=Kind.PAPER_CRITIQUE, stage=Stage.EXAMINE, role=Role.CRITIC_2,
            model=client.model_for(Role.CRITIC_2.value), step_key="examine/critic-2",
            title=f"critic-2: {output.decision}", content_text=review.render(output),
            content_json=output.model_dump(mode="json"),
            parents=[(paper_id, Relation.DERIVED_FROM),
                     *[(lid, Relation.CONTEXT) for _, lid in stored_logs]],
        )
        found = review.findings(draft, output)
        record_findings(store, critic=review, findings=found, found_by_id=critique.id)
        decision, summary = output.decision, output.summary
        flaws.extend(_reported(f"{review.id}@{review.version}", found, where))
    ran.append(f"{review.id}@{review.version}")
    flaws.sort(key=lambda f: (_SEVERITY_ORDER[Severity(f.severity)], f.artifact_id,
                              f.start or 0, f.critic))
    return Examination(
        run_id=run_id, paper_id=paper_id, title=paper.title, source=paper.source,
        format=paper.format,
        sections=tuple(ImportedPart(artifact_id=sid, label=where[sid]) for _, sid in sections),
        logs=tuple(ImportedPart(artifact_id=lid, label=log.source, numbers=len(log.values))
                   for log, lid in stored_logs),
        claims=len(paper.claims), critics=tuple(ran), model=config.default,
        decision=decision, summary=summary, review_error=error, flaws=tuple(flaws),
    )


def examine_sync(
    store: Store, paper_path: Path, *, logs_dir: Path | None = None,
    model: str = DEFAULT_MODEL,
) -> Examination:
    """Synchronous twin of `examine`, for the CLI."""
    return asyncio.run(examine(store, paper_path, logs_dir=logs_dir, model=model))
