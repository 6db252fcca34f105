"""The agenda: a TOML file naming research topics, the models per role, and budgets.

See `docs/agenda.md` for the format. Loading validates everything before anything is written, and
reports every problem with its file, field and reason on one line, quoting at most the first 80
characters of an offending value.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._text import CLIP_CHARS, clip, control_character
from .errors import ConfigError
from .models import Budget, ModelsConfig
from .vocabulary import ROLE_NAMES

MAX_SEED = 2**62
"""Largest `run.seed`: the seeds of later runs (`--new` adds one per run) must still fit the
database's signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT)."""

_MAX_LISTED = 5
"""Problems listed in one message; the rest are counted."""

_MULTILINE_FIELDS = re.compile(r"^topics\[\d+\]\.description$")
"""Fields of long text, where newlines and tabs are allowed."""

class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RunSection(_Frozen):
    """How the run behaves."""

    name: str = Field(default="run", min_length=1, max_length=200)
    """Shown in listings."""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    """Sampling seed; part of every cache key, so a new seed means new samples."""
    on_failure: Literal["continue", "stop"] = "continue"
    """What a step whose model output stayed invalid does: skip what depends on it, or stop."""


class PipelineSection(_Frozen):
    """Sizes of the pipeline's fan-out."""

    ideas_per_topic: int = Field(default=3, ge=1, le=3)
    """Research ideas asked for in each babble sample (the model may return fewer)."""
    idea_framings: int = Field(default=2, ge=1, le=10)
    """Babble samples per topic on average: the idea budget is `idea_framings` x topics
    samples, split across topics by the allocation, each sample one cell of the prompting
    matrix (direction x context x persona) with its own seed."""
    cases_per_topic: int = Field(default=2, ge=1, le=5)
    """Positive cases written per topic, each from a different context (an accepted paper of
    the topic when the database has one, else a different framing)."""
    case_pairs: int = Field(default=4, ge=0, le=50)
    """Pairs of cases of different topics the judge compares, each asked in both orders; 0
    compares none (model comparisons then leave the shares equal)."""
    human_weight: int = Field(default=3, ge=1, le=100)
    """How many model comparisons one human comparison (`autoalign compare`) counts as."""
    personas: int = Field(default=3, ge=1, le=4)
    """Personas the babble matrix cycles through (of: a methodical empiricist, a theorist, a
    skeptic of the mainstream, a red-teamer)."""
    embeddings: str = Field(default="tfidf", min_length=1, max_length=200)
    """How near-duplicate ideas are found: `tfidf` (local, no download) or an embedding model
    `openai:<model>` (OpenAI, or the `base_url` of `[models.providers.openai]`)."""
    merge_threshold: float = Field(default=0.6, gt=0.0, le=1.0)
    """Cosine similarity at or above which two ideas of a topic are merged."""
    screen_keep: float = Field(default=0.1, gt=0.0, le=1.0)
    """Share of the merged ideas the screen keeps (at least one per topic that got budget)."""
    screen_judges: int = Field(default=2, ge=1, le=5)
    """Judges who score each idea in the screen (each with its own rubric wording)."""
    escalation_judges: int = Field(default=2, ge=0, le=5)
    """More judges asked about an idea whose scores spread more than `disagreement`."""
    disagreement: float = Field(default=3.0, ge=0.0, le=9.0)
    """Spread (max - min of 1-10 scores) above which judges disagree: more judges are asked,
    and if the spread stays above it a human review request is opened."""

    @field_validator("embeddings")
    @classmethod
    def _known_embeddings(cls, value: str) -> str:
        if value != "tfidf" and not value.startswith("openai:"):
            raise PydanticCustomError(
                "unknown_embeddings",
                "embeddings must be \"tfidf\" or \"openai:<model>\", got {value}",
                {"value": _quoted(value)},
            )
        return value
    proposals: int = Field(default=2, ge=1, le=5)
    """How many of the best-scored ideas are worked into proposals for the judge to choose from."""
    # the flaw library (issue 14, part LB)
    past_flaws: Literal["none", "similar"] = "none"
    """`similar`: each idea-screen judge is shown, as data, the past flaws of earlier projects
    most similar to the idea (the flaw library, `docs/learning.md`); `none`: not shown."""
    past_flaws_k: int = Field(default=3, ge=1, le=10)
    """Most past flaws shown to each idea-screen judge."""


class ProjectsSection(_Frozen):
    """Detailed proposals, their critique and revision, and the selection of projects."""

    revision_rounds: int = Field(default=1, ge=0, le=2)
    """Rounds of critique and revision each proposal gets before it is judged."""
    max_projects: int = Field(default=2, ge=1, le=5)
    """Most projects selected (and executed and written up) in a run; within the run's
    remaining token budget, by the proposals' estimates."""
    portfolio: bool = True
    """With two or more selected projects, ask a judge for bundles and information screens."""


class ExecutionSection(_Frozen):
    """The execution loop: scope rounds, delegation, sandbox budgets, critic #1, decisions."""

    candidates: int = Field(default=10, ge=1, le=10)
    """Candidate next steps scoping proposes each round."""
    steps_per_round: int = Field(default=2, ge=1, le=5)
    """How many of the candidates are delegated and run in a round (at most)."""
    max_iterations: int = Field(default=3, ge=1, le=10)
    """Scope rounds a project may run before it must end (the budget may end it sooner)."""
    max_runs_per_step: int = Field(default=4, ge=1, le=16)
    """Sandbox runs one step may make (its experiment plan's arms and its tool calls)."""
    max_seeds: int = Field(default=5, ge=2, le=50)
    """Seeds one experiment arm may run."""
    spec_retries: int = Field(default=1, ge=0, le=3)
    """Times a plan the sandbox rejected is asked again, with the error, before the step fails."""
    tool_requests: int = Field(default=8, ge=1, le=50)
    """Model requests one worker ask may make while it calls tools."""
    check_rate: float = Field(default=0.25, ge=0.0, le=1.0)
    """Share of steps critic #1 checks at their first attempt."""
    check_rate_after_failure: float = Field(default=1.0, ge=0.0, le=1.0)
    """Share of steps critic #1 checks when an earlier attempt at the same question failed."""
    judges: int = Field(default=3, ge=1, le=7)
    """Judges asked to approve a decision far from the proposal (sunset, spin off)."""


class Critic2Section(_Frozen):
    """Critic #2 in the write-up: babble and prune, and the decision rules (`docs/pipeline.md`,
    "Critic #2 and the six decisions")."""

    instances: int = Field(default=3, ge=1, le=8)
    """Critic-2 instances that babble candidate flaws, each with its own context and focus."""
    investigate: int = Field(default=2, ge=1, le=8)
    """Candidate flaws (after merging near-duplicates) investigated against the log, the most
    important first (severity x confidence)."""
    models: list[str] = Field(default_factory=list, max_length=8)
    """Models (`provider:model`) the instances use in turn; empty: the `critic-2` role's."""
    revision_rounds: int = Field(default=2, ge=0, le=5)
    """Times a paper may be revised after a minor or major revision decision."""
    escalate_low: float = Field(default=0.3, ge=0.0, le=1.0)
    """Lower edge of the escalation band of the severe-flaw probability."""
    escalate_high: float = Field(default=0.7, ge=0.0, le=1.0)
    """Upper edge of the escalation band; above it the paper is decided against."""
    disagreement: float = Field(default=0.5, gt=0.0, le=1.0)
    """Escalate when the instances' severe-flaw estimates spread (max - min) by at least this."""
    duplicate_threshold: float = Field(default=0.6, gt=0.0, le=1.0)
    """TF-IDF cosine similarity at which two candidate flaws are merged as near-duplicates."""
    # the flaw library (issue 14, part LB)
    past_flaws: Literal["recent", "similar", "none"] = "recent"
    """Past confirmed flaws the investigator is shown: `recent` (the latest earlier ones of the
    candidate's category), `similar` (the flaw library's entries most similar to the candidate,
    and to each instance's part of the paper for the instances too), or `none`."""
    past_flaws_k: int = Field(default=3, ge=1, le=10)
    """Most past flaws shown to one investigation (and, with `similar`, to one instance)."""

    @field_validator("models")
    @classmethod
    def _model_ids(cls, models: list[str]) -> list[str]:
        for model in models:
            provider, sep, name = model.partition(":")
            if not sep or not provider.strip() or not name.strip():
                raise PydanticCustomError(
                    "model_id",
                    'model id {model} is not of the form "provider:model"',
                    {"model": _quoted(model)},
                )
        return models

    @model_validator(mode="after")
    def _band(self) -> Critic2Section:
        if self.escalate_low > self.escalate_high:
            raise PydanticCustomError(
                "escalation_band",
                "escalate_low {low} is above escalate_high {high}; the band needs low <= high",
                {"low": self.escalate_low, "high": self.escalate_high},
            )
        return self


class SandboxSection(_Frozen):
    """Where the sandboxed experiment runs happen. Not part of the agenda's digest: the same
    jobs give the same records on every backend, so a run may resume on another one."""

    backend: Literal["local", "ray", "queue"] = "local"
    """`local`: this machine's process pool; `ray`: a Ray cluster (needs
    `pip install 'autoalign[ray]'`); `queue`: the research database's work queue, where any
    `autoalign worker` that takes `sandbox` items runs them (one besides the worker running the
    project, or that worker with `--concurrency 2` or more)."""
    ray_address: str | None = Field(default=None, min_length=1, max_length=500)
    """The Ray cluster to join (`auto`, `host:port`, `ray://host:port`); unset starts a local Ray
    instance. Only with `backend = "ray"`."""
    workers: int | None = Field(default=None, ge=1, le=4096)
    """Sandboxed runs at once; unset: one per core (local) or per cluster CPU (ray)."""

    @model_validator(mode="after")
    def _address_needs_ray(self) -> SandboxSection:
        if self.ray_address is not None and self.backend != "ray":
            raise PydanticCustomError(
                "address_without_ray",
                "ray_address {address} is set but backend is {backend}; set backend = \"ray\" or "
                "remove ray_address",
                {"address": _quoted(self.ray_address), "backend": _quoted(self.backend)},
            )
        return self


class WriteupSection(_Frozen):
    """The write-up: its second strategy and how much their divergence raises scrutiny."""

    direct: bool = True
    """Also write the main text, introduction and abstract directly from the research log (3
    more model calls) and measure how far that version diverges from the step-by-step paper."""
    divergence_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
    """A divergence score at or above this raises critic #2's scrutiny of the paper."""
    divergence_extra_critics: int = Field(default=2, ge=0, le=5)
    """Critic-#2 instances added when the divergence reaches the threshold."""
    divergence_escalation_drop: float = Field(default=0.1, ge=0.0, le=0.5)
    """How much lower the severe-flaw probability that escalates to a human is set then."""
PaperStatus = Literal["accepted", "revision_requested", "escalated", "rejected", "draft"]
"""A paper status stage 4 may be asked to consider."""


class CrosscheckSection(_Frozen):
    """Stage 4, across papers: clustering of the corpus and critic #3 (`docs/pipeline.md`)."""

    enabled: bool = False
    """Run stage 4 after the write-up; off, the stage records nothing."""
    papers: list[PaperStatus] = Field(
        default_factory=lambda: list[PaperStatus](["accepted"]), min_length=1, max_length=5
    )
    """Which papers of the corpus (every run in the database) stage 4 considers, by status:
    `accepted` (accept or minor revision) by default. A tainted or flawed paper never counts."""
    embedder: str = Field(default="tfidf", min_length=1, max_length=200)
    """`tfidf`, or `provider:model` of an OpenAI-compatible embeddings endpoint (as stage 1)."""
    cluster_threshold: float = Field(default=0.3, gt=0.0, le=1.0)
    """Cosine similarity of two abstracts at or above which they share a cluster."""
    pairs_per_block: int = Field(default=8, ge=1, le=100)
    """Most claim pairs judged per block (one cluster, or one testbed question)."""
    window: int = Field(default=3, ge=1, le=20)
    """Each claim is paired with the next `window` claims of its block (sorted neighbourhood):
    the choice grows as n * window, never as n squared."""
    missing_angles: bool = True
    """Ask for missing angles per cluster."""
    seeds: int = Field(default=2, ge=0, le=10)
    """Most project seeds (from contradictions) handed to the next round's stage 1."""


class RollbackSection(_Frozen):
    """What a confirmed flaw sets off after everything downstream is tainted."""

    policy: Literal["none", "re-review", "regenerate"] = "re-review"
    """`re-review`: a critic-#2 pass is asked for on each affected paper; `regenerate`: the
    write-up of each affected research log is asked for again too; `none`: taint only."""


# -- Expensive checks where they matter (issue 14, part CK) -------------------------------------


class DeepScrutiny(_Frozen):
    """How much deeper a retroactive review of a load-bearing paper looks than the paper's
    last review (added to the scrutiny it was reviewed under, as `Scrutiny` takes it)."""

    extra_critics: int = Field(default=2, ge=0, le=7)
    """Critic-#2 instances added (a review asks at most 8 in all)."""
    escalation_drop: float = Field(default=0.1, ge=0.0, le=0.5)
    """How much lower the escalation band's lower edge is set."""

    @model_validator(mode="after")
    def _deeper(self) -> DeepScrutiny:
        if self.extra_critics == 0 and self.escalation_drop == 0:
            raise PydanticCustomError(
                "not_deeper",
                "deep_scrutiny asks for nothing deeper (extra_critics = 0 and escalation_drop "
                "= 0); set extra_critics to 1 or more, or escalation_drop above 0",
                {},
            )
        return self


class LearningSection(_Frozen):
    """Expensive checks where they matter (`docs/learning.md`): retroactive deeper reviews of
    load-bearing papers, and confused critics routed to humans, each within a budget. The
    defaults (both budgets 0) change nothing."""

    load_bearing_descendants: int = Field(default=5, ge=1, le=1_000_000)
    """An accepted paper with at least this many descendants in the provenance DAG (its own
    reviews left out) is load-bearing."""
    case_evidence: bool = True
    """A paper that feeds a metric a registered safety case reads is load-bearing too."""
    deep_reviews: int = Field(default=0, ge=0, le=1000)
    """Most retroactive deeper reviews scheduled per pass (the end of a run, or `autoalign
    learn checks`); 0: none is scheduled."""
    deep_scrutiny: DeepScrutiny = DeepScrutiny()
    """How much deeper those reviews look."""
    confused_band: tuple[float, float] = (0.3, 0.7)
    """[low, high]: critic #2's stated severe-flaw probability (its instances' mean estimate)
    inside it means the critic is confused."""
    instance_spread: float = Field(default=0.3, gt=0.0, le=1.0)
    """Critic #2's instances disagree when their estimates spread (max - min) by at least
    this."""
    human_escalations: int = Field(default=0, ge=0, le=100_000)
    """Most confused-critic escalations to the human queue per run; 0: none is checked."""

    @field_validator("confused_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not (0.0 <= low <= high <= 1.0):
            raise PydanticCustomError(
                "confused_band",
                "confused_band [{low}, {high}] needs 0 <= low <= high <= 1",
                {"low": low, "high": high},
            )
        return value


class Topic(_Frozen):
    """A broad research topic, and the testbeds its research runs experiments on."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    testbeds: list[str] = Field(default_factory=list, max_length=20)
    """Testbeds the topic's projects may run; empty means every registered testbed."""
    questions: list[str] = Field(default_factory=list, max_length=50)
    """Testbed questions (`testbed/question_id`) its projects should answer; empty means every
    question of its testbeds."""


class Agenda(_Frozen):
    """A whole agenda file."""

    run: RunSection = RunSection()
    budget: Budget = Budget()
    models: ModelsConfig = ModelsConfig()
    pipeline: PipelineSection = PipelineSection()
    execution: ExecutionSection = ExecutionSection()
    projects: ProjectsSection = ProjectsSection()
    sandbox: SandboxSection = SandboxSection()
    writeup: WriteupSection = WriteupSection()
    critic2: Critic2Section = Critic2Section()
    crosscheck: CrosscheckSection = CrosscheckSection()
    rollback: RollbackSection = RollbackSection()
    learning: LearningSection = LearningSection()  # issue 14, part CK
    topics: list[Topic] = Field(min_length=1, max_length=20)

    @field_validator("models")
    @classmethod
    def _known_roles(cls, models: ModelsConfig) -> ModelsConfig:
        unknown = sorted(set(models.roles) - set(ROLE_NAMES))
        if unknown:
            raise PydanticCustomError(
                "unknown_role",
                "unknown role {role} in [models.roles]; known roles: {known}",
                {"role": _quoted(unknown[0]), "known": ", ".join(ROLE_NAMES)},
            )
        return models

    def digest(self) -> str:
        """sha256 of the normalised agenda, budget, sandbox and learning excluded: equal agendas
        resume the same run.

        The budget is left out so that a run stopped by its budget resumes when it is raised; the
        sandbox section so that a run may resume on another backend (the records are the same);
        the `[learning]` section, whose budgets are budgets too (a changed one applies to what
        the run decides from then on; an agenda written before the section existed keeps its
        digest).
        """
        dumped = self.model_dump(mode="json", exclude={"budget", "sandbox", "learning"})
        # the flaw library (issue 14, part LB): its settings at their defaults are left out, so
        # an agenda written before them keeps its digest (and its unfinished run resumes)
        for section, defaults in (("pipeline", PipelineSection()), ("critic2", Critic2Section())):
            for name in ("past_flaws", "past_flaws_k"):
                if getattr(getattr(self, section), name) == getattr(defaults, name):
                    dumped[section].pop(name)
        canonical = json.dumps(dumped, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _quoted(value: str | int | float) -> str:
    """`repr(value)` (which escapes control characters), cut to 80 characters with the length."""
    text = repr(value)
    if len(text) <= CLIP_CHARS:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} digits"
    return f"{text[:CLIP_CHARS]}... ({size})"


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        name = part if isinstance(part, int) else clip(part)
        path += f"[{name}]" if isinstance(name, int) else (f".{name}" if path else name)
    return path


def _reason(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    value = error.get("input")
    shown = f" (got {_quoted(value)})" if isinstance(value, str | int | float) else ""
    return f"{error['msg']}{shown}"


def _control_characters(value: object, loc: tuple[int | str, ...] = ()) -> tuple[str, str] | None:
    """The first key or string in the parsed TOML holding a control character: (field, char).

    Such characters would reach the terminal and the prompts; newlines and tabs are allowed only
    in long text (a topic's description)."""
    if isinstance(value, dict):
        for key, item in value.items():
            char = control_character(key)
            if char:
                return _field_path((*loc, key)), char
            inner = _control_characters(item, (*loc, key))
            if inner:
                return inner
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = _control_characters(item, (*loc, index))
            if inner:
                return inner
    elif isinstance(value, str):
        path = _field_path(loc)
        char = control_character(value, allow_breaks=bool(_MULTILINE_FIELDS.match(path)))
        if char:
            return path, char
    return None


def parse_agenda(data: dict[str, Any], *, source: str = "<agenda>") -> Agenda:
    """Validate a parsed agenda; every problem is reported on one line.

    Raises:
        ConfigError: the agenda does not match the format; with several problems, the message
            lists the first five and counts the rest.
    """
    control = _control_characters(data)
    if control is not None:
        field, char = control
        raise ConfigError(
            f"control character U+{ord(char):04X} is not allowed here (newlines and tabs are "
            "allowed only in topic descriptions); remove it",
            file=source, field=field,
        )
    try:
        return Agenda.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        if len(errors) == 1:
            raise ConfigError(
                _reason(first), file=source, field=_field_path(first["loc"])
            ) from None
        problems = [f"{_field_path(e['loc'])}: {_reason(e)}" for e in errors[:_MAX_LISTED]]
        more = len(errors) - _MAX_LISTED
        raise ConfigError(
            f"{len(errors)} problems: " + "; ".join(problems)
            + (f"; and {more} more" if more > 0 else ""),
            file=source,
        ) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (an agenda or another config).

    Raises:
        ConfigError: the file is missing, cannot be read as UTF-8, or is not valid TOML; the
            error names the file.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOML syntax error: {exc}", file=str(p)) from None


def load_agenda(path: str | Path) -> Agenda:
    """Read and validate an agenda file.

    Raises:
        ConfigError: the file is missing, is not valid TOML, or does not match the format.
    """
    return parse_agenda(read_toml(path), source=str(path))
