"""The critics a red-team experiment can run, by id: the registered critics whose `check` takes
the plain subject (critic #1's on an `ExecutedStep`, critic #2's on a `PaperDraft`), critic
#2 as the write-up runs it (`c2.pipeline`), and critic #3's evidence check and pair judge over
a `Corpus` (`c3.evidence`, `c3.pairs`, as stage 4 runs them)."""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..agenda import Critic2Section
from ..critics import (
    Critic,
    CriticContext,
    CriticScale,
    ExecutedStep,
    Finding,
    FlawCategory,
    Location,
    PaperDraft,
    ProgrammaticCritic,
    Severity,
    get_critic,
    list_critics,
)
from ..errors import ConfigError
from ..models import ModelClient
from ..pipeline.crosscheck import CorpusPaper, over_represented
from ..store import ArtifactRecord, ClaimRecord
from ..vocabulary import ClaimSource, Role
from ._flaws import Where
from ._llm_critics import (
    CORPUS_PAIRS,
    PAPER_PIPELINE,
    corpus_pairs,
    pairs_version,
    pipeline_review,
    pipeline_version,
    report_findings,
)
from ._subjects import Corpus, Subject

CORPUS_EVIDENCE = "c3.evidence"
"""Critic #3's evidence check, run on a `Corpus` (not a registered critic: stage 4 runs it)."""


@dataclass(frozen=True, kw_only=True)
class Checked:
    """What a critic reported about one subject."""

    findings: list[Finding]
    """Its findings."""
    probability: float | None = None
    """Its probability that the subject has a severe flaw, when it states one."""


@dataclass(frozen=True, kw_only=True)
class RedteamCritic:
    """A critic as the red team runs it."""

    id: str
    """The critic's id."""
    version: str
    """Its version."""
    kind: str
    """`programmatic` or `llm`."""
    where: Where
    """What subjects it checks."""
    critic: Critic[Any] | None = None
    """The registered critic (None for the multi-step and corpus critics)."""
    role: str | None = None
    """The role an LLM critic asks (None for a programmatic one)."""
    critic2: Critic2Section = field(default_factory=Critic2Section)
    """The `[critic2]` settings `c2.pipeline` reviews with."""

    @property
    def label(self) -> str:
        """`<id>@<version>`, as trials name it."""
        return f"{self.id}@{self.version}"

    async def check(self, subject: Subject, *, models: ModelClient | None) -> Checked:
        """The critic's findings about `subject` and, when it states one, its probability of
        a severe flaw (LLM critics ask through `models`).

        Raises:
            TypeError: the subject is not of the critic's kind.
            ConfigError: an LLM critic without a model client.
        """
        if self.critic is not None:
            return Checked(findings=list(
                await self.critic.check(subject, context=CriticContext(models=models))
            ))
        wanted = PaperDraft if self.id == PAPER_PIPELINE else Corpus
        if not isinstance(subject, wanted):
            raise TypeError(f"{self.id} checks a {wanted.__name__}, not a "
                            f"{type(subject).__name__}")
        if self.id == CORPUS_EVIDENCE:
            assert isinstance(subject, Corpus)
            return Checked(findings=corpus_evidence(subject))
        if models is None:
            raise ConfigError(f"critic {self.id} needs a model client for role {self.role}")
        if isinstance(subject, PaperDraft):
            report = await pipeline_review(subject, models=models, settings=self.critic2)
            return Checked(findings=report_findings(report),
                           probability=report.severe_flaw_probability)
        return Checked(findings=await corpus_pairs(subject, models=models))


def _plain(critic: Critic[Any]) -> bool:
    """The critic's check (or, for an LLM critic, its prompt) takes the plain subject."""
    if isinstance(critic, ProgrammaticCritic):
        return True
    subject = critic.scale.subject
    for name in ("prompt", "check"):
        method = getattr(type(critic), name, None)
        if method is None:
            continue
        try:
            hints = typing.get_type_hints(method)
        except (NameError, TypeError):
            continue
        params = [p for p in inspect.signature(method).parameters if p != "self"]
        if params and params[0] in hints and not isinstance(hints[params[0]], typing.TypeVar):
            return bool(hints[params[0]] is subject)
    return False


def redteam_critic(id: str, *, critic2: Critic2Section | None = None) -> RedteamCritic:
    """The critic called `id`, as the red team runs it (`critic2`: the settings `c2.pipeline`
    reviews with; default the agenda's defaults).

    Raises:
        ConfigError: no such critic, or it does not check a plain step, paper or corpus.
    """
    if id == CORPUS_EVIDENCE:
        return RedteamCritic(id=id, version="1", kind="programmatic", where="corpus")
    if id == CORPUS_PAIRS:
        return RedteamCritic(id=id, version=pairs_version(), kind="llm", where="corpus",
                             role=Role.JUDGE.value)
    if id == PAPER_PIPELINE:
        return RedteamCritic(id=id, version=pipeline_version(), kind="llm", where="paper",
                             role=Role.CRITIC_2.value, critic2=critic2 or Critic2Section())
    critic = get_critic(id)
    if not _plain(critic):
        raise ConfigError(
            f"critic {id} does not check a plain {critic.scale.subject.__name__} (it is part of "
            f"a multi-step review); choose one of {', '.join(redteam_critic_ids())}",
            field="critics",
        )
    where: Where = "execution" if critic.scale == CriticScale.STEP else "paper"
    default = Role.CRITIC_1 if where == "execution" else Role.CRITIC_2
    role = str(getattr(critic, "role", default)) if critic.kind == "llm" else None
    return RedteamCritic(id=id, version=critic.version, kind=critic.kind, where=where,
                         critic=critic, role=role)


def redteam_critic_ids() -> list[str]:
    """Every critic id an experiment may name."""
    return [c.id for c in list_critics() if _plain(c)] + [PAPER_PIPELINE, CORPUS_EVIDENCE,
                                                          CORPUS_PAIRS]


def _paper(entry_id: int, title: str, abstract: str) -> ArtifactRecord:
    return ArtifactRecord(
        id=entry_id, run_id=None, kind="paper", stage="writeup", role=None, model=None,
        prompt_digest=None, step_key=None, title=title, content_text=abstract,
        content_json=None, status="accepted", created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def corpus_evidence(corpus: Corpus) -> list[Finding]:
    """Critic #3's evidence check (`autoalign.pipeline.crosscheck.over_represented`) on a
    corpus, claims of two papers on one question in one direction taken as convergent."""
    claims: dict[int, tuple[ClaimRecord, CorpusPaper]] = {}
    owner: dict[int, int] = {}
    for entry in corpus.papers:
        records = tuple(
            ClaimRecord(id=c.claim_id, artifact_id=entry.paper_id, text=c.text, effect=c.estimate,
                        ci_low=c.ci_low, ci_high=c.ci_high, probability=c.probability,
                        source=ClaimSource.PIPELINE, model=None)
            for c in entry.claims
        )
        paper = CorpusPaper(
            paper=_paper(entry.paper_id, entry.title, entry.abstract), abstract=entry.abstract,
            claims=records, ancestors=frozenset(entry.ancestors),
            testbeds=frozenset(entry.testbeds), questions=frozenset(),
        )
        for record in records:
            claims[record.id] = (record, paper)
            owner[record.id] = entry.paper_id
    by_id = {c.claim_id: c for e in corpus.papers for c in e.claims}
    convergent: dict[int, set[int]] = {}
    for a, ca in by_id.items():
        for b, cb in by_id.items():
            if (a != b and owner[a] != owner[b] and ca.question == cb.question
                    and ca.estimate and cb.estimate and (ca.estimate > 0) == (cb.estimate > 0)):
                convergent.setdefault(a, set()).add(b)
    return [
        Finding(
            category=FlawCategory.OVER_REPRESENTED_EVIDENCE, severity=Severity.MINOR,
            description=f"the support of claim {flag.claim_id} is not independent: {flag.reason}",
            evidence=f"supporting papers {flag.support}; testbeds {flag.testbeds}",
            location=Location(artifact_id=flag.paper_id, field=f"claims[{flag.claim_id}]"),
        )
        for flag in over_represented(claims, convergent)
    ]


def subject_where(subject: Subject) -> Where:
    """Where a subject's flaws live."""
    if isinstance(subject, ExecutedStep):
        return "execution"
    if isinstance(subject, PaperDraft):
        return "paper"
    return "corpus"


__all__ = [
    "CORPUS_EVIDENCE",
    "CORPUS_PAIRS",
    "PAPER_PIPELINE",
    "Checked",
    "RedteamCritic",
    "corpus_evidence",
    "redteam_critic",
    "redteam_critic_ids",
    "subject_where",
]
