"""Structured outputs the pipeline asks models for.

Every string has a maxLength and every list a maxItems: the embedded 270M model writes until a
schema stops it, and a bounded schema is what makes its runs terminate.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

Short = Annotated[str, Field(min_length=1, max_length=120)]
Para = Annotated[str, Field(min_length=1, max_length=400)]
Long = Annotated[str, Field(min_length=1, max_length=900)]


class PositiveCase(BaseModel):
    """The case for spending research effort on a topic."""

    case: Para = Field(description="Why more research on this topic is valuable for alignment.")
    key_questions: list[Short] = Field(
        min_length=1, max_length=2, description="Open questions research could answer."
    )
    cites: list[int] = Field(
        default_factory=list, max_length=3,
        description="Ids of the database artifacts shown above that the case rests on.",
    )


class Idea(BaseModel):
    """One research idea."""

    title: Short
    summary: Para = Field(description="What would be done and what it would show.")


class IdeaList(BaseModel):
    """Ideas babbled for a topic."""

    ideas: list[Idea] = Field(min_length=1, max_length=3)


class Score(BaseModel):
    """A judge's score of one item."""

    score: int = Field(ge=1, le=10, description="1 = not worth doing, 10 = excellent.")
    rationale: Para


EffortKind = Literal["empirical", "mathematical", "conceptual"]


class WorkStep(BaseModel):
    """One step of the work a proposal plans."""

    kind: EffortKind = Field(
        description="empirical: experiments; mathematical: a derivation or proof; conceptual: "
        "an argument or a framing."
    )
    description: Short


class ResourceEstimate(BaseModel):
    """What a project is expected to spend."""

    calls: int = Field(ge=1, le=1000, description="Model calls the project needs.")
    tokens: int = Field(ge=1000, le=5_000_000, description="Input + output tokens of them.")
    sandbox_seconds: int = Field(ge=0, le=100_000, description="Sandbox time of its experiments.")


class Proposal(BaseModel):
    """A project proposal built from one idea.

    The sections after `expected_outcome` are optional here so that proposals stored before
    them (and spin-offs, which the execution loop writes) still read; a detailed proposal
    (`DetailedProposal`) has every one.
    """

    title: Short
    research_question: Short
    motivation: Para
    writing_task: Para = Field(
        description="The first concrete step: an experiment on a testbed, or an analysis, that "
        "makes progress on the question."
    )
    expected_outcome: Para
    research_questions: list[Short] = Field(default_factory=list, max_length=3)
    related_work: list[int] = Field(default_factory=list, max_length=4)
    steps: list[WorkStep] = Field(default_factory=list, max_length=4)
    more_ambitious: Annotated[str, Field(max_length=400)] = ""
    less_ambitious: Annotated[str, Field(max_length=400)] = ""
    trajectories: list[Short] = Field(default_factory=list, max_length=3)
    estimate: ResourceEstimate | None = None


class DetailedProposal(Proposal):
    """A detailed project proposal: every section the selection and the judges read."""

    research_questions: list[Short] = Field(
        min_length=1, max_length=2, description="The questions the project tries to answer."
    )
    related_work: list[Annotated[int, Field(ge=1)]] = Field(
        max_length=3, description="Ids of artifacts in the research database it builds on (only "
        "ids listed as related work; may be empty)."
    )
    steps: list[WorkStep] = Field(
        min_length=1, max_length=3, description="The work, step by step, each tagged."
    )
    more_ambitious: Short = Field(description="A more ambitious version of the project.")
    less_ambitious: Short = Field(description="A less ambitious version of the project.")
    trajectories: list[Short] = Field(
        min_length=1, max_length=2,
        description="Where the project could go depending on its first results.",
    )
    estimate: ResourceEstimate


class ProposalCritique(BaseModel):
    """A shallow critique of a proposal: local validity and needs for expansion only."""

    issues: list[Short] = Field(
        min_length=1, max_length=3,
        description="Problems of local validity: steps that do not answer the questions, "
        "estimates that do not fit the steps, missing controls.",
    )
    expansions: list[Short] = Field(
        default_factory=list, max_length=2, description="What the proposal should spell out."
    )


class BundleItem(BaseModel):
    """Projects worth running together."""

    projects: list[Annotated[int, Field(ge=0, le=9)]] = Field(
        min_length=2, max_length=5, description="Project numbers (P0 is 0)."
    )
    reason: Short


class ScreenItem(BaseModel):
    """Two projects that attack one question from different angles: keep them apart."""

    first: int = Field(ge=0, le=9, description="A project number (P0 is 0).")
    second: int = Field(ge=0, le=9, description="Another project number.")
    question: Short = Field(description="The question both attack.")
    reason: Short = Field(description="Why their approaches should stay independent.")


class Portfolio(BaseModel):
    """A judge's look at the selected projects together."""

    bundles: list[BundleItem] = Field(default_factory=list, max_length=3)
    screens: list[ScreenItem] = Field(default_factory=list, max_length=3)


# -- the execution loop --------------------------------------------------------------------
# Fields that name testbeds, interventions, knobs and questions are plain strings here; the
# stage asks for subclasses (`_catalog.schemas_for`) that enumerate a project's own.

Seed = Annotated[int, Field(ge=0, le=1_000_000)]
StepKind = Literal["experiment", "analysis", "writing"]


class CandidateStep(BaseModel):
    """One candidate next step of a project."""

    title: Short
    kind: StepKind = Field(
        description="experiment: runs testbed experiments; analysis: reads earlier results; "
        "writing: an argument without new results."
    )
    testbed: str | None = Field(default=None, description="The testbed an experiment runs on.")
    question: str | None = Field(
        default=None, description="The testbed question (testbed/question_id) it would answer."
    )
    objective: Para
    value_percent: int = Field(
        ge=0, le=100, description="How much the step would move the project, 0-100."
    )


class ScopePlan(BaseModel):
    """A round's candidate next steps and which of them to run now."""

    candidates: list[CandidateStep] = Field(min_length=1, max_length=10)
    run_now: list[int] = Field(
        min_length=1, max_length=5, description="Indices (from 0) of the candidates to run now."
    )
    rationale: Para


class KnobSetting(BaseModel):
    """One knob of a testbed set to a value."""

    knob: str
    value: float | bool | Annotated[str, Field(max_length=64)] = Field(
        description="A number, true/false, or a choice's name."
    )


class ArmSpec(BaseModel):
    """One arm of an experiment: a testbed run at some settings, on some seeds."""

    label: Short = Field(description="A short name for the arm, e.g. baseline or penalty.")
    testbed: str
    intervention: str | None = None
    settings: list[KnobSetting] = Field(default_factory=list, max_length=3)
    seeds: list[Seed] = Field(min_length=1, max_length=50)


class ExperimentPlan(BaseModel):
    """The experiments a worker runs for a step: one spec per arm."""

    rationale: Short
    arms: list[ArmSpec] = Field(min_length=1, max_length=16)


class Answer(BaseModel):
    """A worker's answer to a testbed question, with its estimate and confidence."""

    question: str = Field(description="The question answered (testbed/question_id).")
    treated_arm: Short = Field(description="The label of the treated arm.")
    comparison_arm: Short = Field(description="The label of the comparison arm.")
    estimate: float = Field(description="The effect as the question defines it.")
    ci_low: float = Field(description="Lower end of a 95% interval of the effect.")
    ci_high: float = Field(description="Upper end of a 95% interval of the effect.")
    probability_percent: int = Field(
        ge=0, le=100, description="Probability, in percent, that the question's answer is yes."
    )


class StepReport(BaseModel):
    """A worker's account of a step: what was run and found, and the answers it claims."""

    summary: Long
    answers: list[Answer] = Field(default_factory=list, max_length=2)


class SpinOff(BaseModel):
    """A new project proposed out of this one."""

    title: Short
    research_question: Short
    motivation: Para
    first_step: Para = Field(description="The first thing the new project would do.")


class RoundInterpretation(BaseModel):
    """The lead's reading of a round's results, and the decision it proposes."""

    takeaways: list[Short] = Field(min_length=1, max_length=3)
    competing_explanations: list[Short] = Field(default_factory=list, max_length=3)
    follow_ups: list[Short] = Field(default_factory=list, max_length=3)
    confidence_percent: int = Field(
        ge=0, le=100, description="Probability, in percent, that the main takeaway holds."
    )
    decision: Literal["continue", "sunset", "spin_off"] = Field(
        description="continue: another round; sunset: end this direction; spin_off: propose a "
        "new project out of this one (give spin_off)."
    )
    rationale: Para
    spin_off: SpinOff | None = None


class DecisionVote(BaseModel):
    """A judge's vote on a proposed decision."""

    approve: bool
    rationale: Para


Ref = Annotated[str, Field(min_length=1, max_length=16)]
"""A source as the prompt shows it in brackets: `17` (artifact 17) or `17.2` (its paragraph 2)."""


class LinkRef(BaseModel):
    """A source a paragraph rests on, checked against the sources its writer was shown."""

    artifact: int
    paragraph: int | None = None
    """The paragraph (from 1) of a section artifact, or None for the whole artifact."""


class NumberTrace(BaseModel):
    """One number printed in a paragraph and the sandbox result it came from (if any)."""

    text: str
    """The number as printed."""
    start: int
    end: int
    """Its span in the paragraph's text."""
    value: float | None = None
    """The logged value it matches; None when untraced."""
    run: int | None = None
    """The `sandbox_run` artifact the value came from; None when untraced."""
    step_log: int | None = None
    arm: str | None = None
    metric: str | None = None
    seed: int | None = None


class ParagraphTrace(BaseModel):
    """What the pipeline checked of one paragraph: its links, the sources it named that its
    writer was not shown (dropped), and the source of each of its numbers."""

    links: list[LinkRef]
    dropped: list[str]
    numbers: list[NumberTrace]


class Paragraph(BaseModel):
    """One paragraph of a section, with the sources it rests on."""

    text: Para
    sources: list[Ref] = Field(
        default_factory=list, max_length=4,
        description="The bracketed ids of the sources this paragraph rests on, e.g. 12 or 12.1.",
    )


class Section(BaseModel):
    """One layer of the paper's summary hierarchy, written as paragraphs."""

    title: Short
    paragraphs: list[Paragraph] = Field(min_length=1, max_length=3)
    trace: SkipJsonSchema[list[ParagraphTrace]] = Field(default_factory=list)
    """One per paragraph, filled by the pipeline (never asked of the model)."""


class ClaimItem(BaseModel):
    """A claim the paper makes, with the probability the authors give it.

    Probabilities are whole percents: grammar-constrained decoding (llama.cpp) enforces integer
    bounds but not float bounds, and a small model otherwise writes "probability": 44.7.
    """

    text: Short
    probability_percent: int = Field(ge=0, le=100)


class Abstract(BaseModel):
    """The top of the summary hierarchy."""

    title: Short
    text: Para
    claims: list[ClaimItem] = Field(min_length=1, max_length=2)
    sources: list[Ref] = Field(
        default_factory=list, max_length=4,
        description="The bracketed ids of the sources the abstract rests on, e.g. 12.1.",
    )
    trace: SkipJsonSchema[list[ParagraphTrace]] = Field(default_factory=list)
    """One entry (the abstract's text is one paragraph), filled by the pipeline."""


# -- records the pipeline derives without a model ---------------------------------------------


class StepBudget(BaseModel):
    """What a delegated step may spend."""

    max_runs: int
    """Sandbox runs (plan arms and tool runs together)."""
    max_seeds: int
    """Seeds per run."""
    max_requests: int
    """Model requests of one worker ask while it calls tools."""


class DelegatedTask(BaseModel):
    """A step delegated to a role, with its context and budget."""

    round: int
    index: int
    """Position among the round's chosen steps."""
    title: str
    kind: StepKind
    objective: str
    testbed: str | None
    question: str | None
    role: str
    context: list[int]
    """Artifacts the worker is shown (the proposal, earlier usable results)."""
    budget: StepBudget
    attempt: int
    """1 + the earlier steps on the same question (or objective) that failed or were unusable."""


class RunRef(BaseModel):
    """A sandbox run of a step."""

    artifact_id: int
    arm: str
    ok: bool
    error: str | None = None
    """Why the run produced no result (the sandbox's stderr, cut), if it did not."""
    via: Literal["plan", "tool", "earlier"]
    """Who asked for it: the step's plan, a tool call, or an earlier step (analysis, writing)."""
    code: int | None = None
    """The `worker_code` artifact it ran, for a run of worker code."""


class CodeContent(BaseModel):
    """Python source a worker ran."""

    source: str


class LogEntry(BaseModel):
    """One number of a step's research log, exactly as the sandbox returned it."""

    run: int
    """The `sandbox_run` artifact it came from."""
    arm: str
    metric: str
    seed: int | None
    """The seed, or None for the mean over the arm's seeds."""
    value: float


class StepLog(BaseModel):
    """A step's research log: every run and every number the sandbox returned."""

    task: int
    runs: list[RunRef]
    rows: list[LogEntry]
    attempts: int
    """Plans asked (the first and each re-ask after a rejection)."""
    error: str | None = None
    """Why the step has no result, if it has none."""


class ClaimContent(BaseModel):
    """A worker's answer to a testbed question, as stored with its claim."""

    question: str
    """`testbed/question_id`."""
    text: str
    """The question as the testbed states it."""
    effect: float
    ci_low: float
    ci_high: float
    probability: float
    """That the question's answer is yes, as the worker stated it."""
    treated_arm: str
    comparison_arm: str
    runs: list[int]
    """The `sandbox_run` artifacts it rests on."""


class CheckDecision(BaseModel):
    """Critic #1's decision on one step (recorded whether or not the step was checked)."""

    selected: bool
    rate: float
    attempt: int
    critics: list[str]
    """`id@version` of each critic that ran."""
    findings: int
    critical: int
    unusable: list[int]
    """Artifacts marked unusable because of a critical finding."""


class LoopDecision(BaseModel):
    """What the execution loop did after a round."""

    round: int
    proposed: str
    taken: Literal["continue", "sunset", "spin_off", "stop"]
    reason: str
    approvals: int = 0
    votes: int = 0
    spin_off: int | None = None
    """The spun-off proposal's artifact."""


class Selection(BaseModel):
    """Which judged proposals were selected, and every judged proposal's score.

    A selection stored before several projects could be chosen has only `proposal_id`;
    `chosen` reads both kinds.
    """

    proposal_id: int
    """The best-ranked selected proposal."""
    scores: dict[str, float]
    """Judge score by proposal id."""
    proposal_ids: list[int] = Field(default_factory=list)
    """Every selected proposal, best-ranked first."""
    estimates: dict[str, int] = Field(default_factory=dict)
    """Estimated tokens by proposal id (as its proposal states them)."""
    reasons: dict[str, str] = Field(default_factory=dict)
    """Why each judged proposal was selected or not, by proposal id."""
    budget_tokens: int | None = None
    """Tokens the run had left when it selected (None: no token budget)."""
    max_projects: int | None = None
    """The agenda's cap on projects (`projects.max_projects`)."""

    @property
    def chosen(self) -> list[int]:
        """The selected proposals, best-ranked first."""
        return list(self.proposal_ids) or [self.proposal_id]


class BundleContent(BaseModel):
    """Selected projects worth running together, and why."""

    proposals: list[int]
    reason: str


class ScreenContent(BaseModel):
    """An information screen between two selected projects (stored in `information_screens`)."""

    projects: list[int]
    """The two projects' proposals."""
    question: str
    reason: str


class PaperContent(BaseModel):
    """A paper: its title and the artifacts it is made of."""

    title: str
    sections: dict[str, int]
    """Section artifact id by section name (abstract, introduction, main_text, appendix)."""
    research_log: int
    proposal: int
    divergence: int | None = None
    """The `divergence` artifact comparing this paper's sections with the directly written
    ones (None when the direct strategy is off or a layer of either failed)."""


class StepSummary(BaseModel):
    """One step of a project, as its research log lists it."""

    round: int
    task: int
    objective: str
    log: int
    report: int | None
    claims: list[int]
    usable: bool
    """False when the step failed or critic #1 marked its results unusable."""
    why_not: str | None = None


class ProjectLog(BaseModel):
    """A project's research log: what the write-up is written from."""

    proposal: int
    steps: list[StepSummary]
    interpretations: list[int]
    decisions: list[LoopDecision]
