"""Names the agenda, the store, the pipeline and the CLI share, in one place.

Every vocabulary is a `StrEnum`: its members are strings, so the database columns stay plain
text and a value read back from the store compares equal to its member. The agenda validates
`[models.roles]` against `Role` without importing the pipeline; the pipeline asks every one of
these roles for a model before a run starts.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A part an LLM plays in the pipeline; each may get its own model in `[models.roles]`."""

    PROPOSER = "proposer"
    """Positive cases, ideas, proposals, scoping and interpretation."""
    JUDGE = "judge"
    """Scores of ideas and proposals."""
    WORKER = "worker"
    """Executes the research step."""
    CRITIC_1 = "critic-1"
    """Checks the executed step for low-level failures."""
    SUMMARIZER = "summarizer"
    """Writes the paper's summary hierarchy."""
    CRITIC_2 = "critic-2"
    """Checks the paper against its research log and decides accept or reject."""
    RED_TEAM = "red-team"
    """Writes subtle flaws of a named type into clean artifacts for the red team (`autoalign
    redteam run`), and matches critics' findings to them when the LLM matcher is chosen."""


ROLE_NAMES: tuple[str, ...] = tuple(role.value for role in Role)
"""Every role's name, in pipeline order."""

EMBEDDED_MODEL = "local:gemma-3-270m"
"""The model a role gets when the agenda names none: the embedded one, which needs no key and
no network."""


class Stage(StrEnum):
    """A pipeline stage; every artifact records the stage that wrote it."""

    PROPOSE = "propose"
    """Topics → positive cases → ideas → judged ideas → proposals (critiqued, revised, judged)
    → a selection of projects, with bundles and information screens."""
    EXECUTE = "execute"
    """Rounds of scope → delegate → run experiments in the sandbox → critic #1 → interpret →
    decide (continue, sunset, spin off)."""
    WRITEUP = "writeup"
    """The paper's summary hierarchy, then critic #2's review and the paper's status."""
    EXAMINE = "examine"
    """`autoalign examine`: a paper written elsewhere and its logs, imported and checked by
    critic #2 (not a pipeline stage: no agenda runs it)."""
    CROSSCHECK = "crosscheck"
    """Stage 4, across papers: clusters of the corpus and their field summaries, then critic #3
    (pairs of claims judged, over-represented evidence, missing angles, calibrated
    probabilities, and the actions they lead to). Does nothing unless `[crosscheck]` enables it."""
    REREVIEW = "rereview"
    """`autoalign rereview` and the re-examination a confirmed flaw triggers (not a pipeline
    stage: no agenda's stage list runs it)."""


PIPELINE_STAGES: tuple[Stage, ...] = (
    Stage.PROPOSE, Stage.EXECUTE, Stage.WRITEUP, Stage.CROSSCHECK
)
"""The stages an agenda's run goes through, in order (the pipeline registers exactly these)."""


class Kind(StrEnum):
    """What an artifact is."""

    TOPIC = "topic"
    POSITIVE_CASE = "positive_case"
    IDEA_BATCH = "idea_batch"
    IDEA = "idea"
    IDEA_JUDGMENT = "idea_judgment"
    PROPOSAL = "proposal"
    PROPOSAL_JUDGMENT = "proposal_judgment"
    SELECTION = "selection"
    SCOPE_PLAN = "scope_plan"
    """A round's candidate next steps and the ones chosen to run now."""
    TASK_SPEC = "task_spec"
    """One delegated step: its objective, testbed and question, role, context and budget."""
    EXPERIMENT_PLAN = "experiment_plan"
    """The worker's experiment specs for a step (an attempt; a rejected plan is re-asked)."""
    WORKER_CODE = "worker_code"
    """Python source a worker ran in the sandbox (its `sandbox_run` derives from it)."""
    STEP_LOG = "step_log"
    """A step's log: the numbers exactly as the sandbox returned them, and the runs behind them."""
    RESEARCH_LOG = "research_log"
    """A project's research log: its usable steps, their numbers, interpretations and decisions
    (what the write-up is written from)."""
    STEP_REPORT = "step_report"
    """The worker's account of a step: its summary and the answers it claims."""
    CHECK_REPORT = "check_report"
    """Critic #1's decision on a step: whether it was checked, by which critics, what it found."""
    INTERPRETATION = "interpretation"
    """A round's takeaways, competing explanations, follow-ups and proposed decision."""
    DECISION_VOTE = "decision_vote"
    """One judge's vote on a decision far from the proposal (sunset, spin off)."""
    DECISION = "decision"
    """What the execution loop did after a round, and why."""
    APPENDIX = "appendix"
    MAIN_TEXT = "main_text"
    INTRODUCTION = "introduction"
    ABSTRACT = "abstract"
    PAPER = "paper"
    PAPER_CRITIQUE = "paper_critique"
    SANDBOX_RUN = "sandbox_run"
    EXPERIMENT_CLAIM = "experiment_claim"
    IMPORTED_PAPER = "imported_paper"
    """A paper written elsewhere, as `autoalign examine` read it (source file, format, digest)."""
    IMPORTED_SECTION = "imported_section"
    """One section of an imported paper, split at its headings."""
    IMPORTED_LOG = "imported_log"
    """An experiment log given with an imported paper, and the numbers read from it."""
    DIVERGENCE = "divergence"
    """How far the step-by-step and the direct write-ups of a research log diverge (claims in
    one only, numbers that differ, opposite conclusions) and the score."""
    FLAW_CANDIDATES = "flaw_candidates"
    """One critic-#2 instance's babble: the candidate flaws it saw in its part of the paper and
    log, and its estimate that the paper is severely flawed."""
    FLAW_INVESTIGATION = "flaw_investigation"
    """Critic #2's check of one candidate flaw against the log and its evidence: confirmed or
    refuted, with evidence."""
    DIRECTION_DECISION = "direction_decision"
    """Critic #2's call to reassess or halt a project's direction: the proposal, the paper and
    the flaws behind it (the execute stage reads a reassessment when it scopes the project
    again)."""
    CASE_SCORE = "case_score"
    """A judge's rubric score of one positive case."""
    CASE_COMPARISON = "case_comparison"
    """A judge's choice between two positive cases of different topics, in one order."""
    ALLOCATION = "allocation"
    """Each topic's share of the idea budget (Bradley-Terry over the case comparisons), with
    its interval, and the babble samples each topic got."""
    IDEA_MERGE = "idea_merge"
    """Which near-duplicate ideas were merged into which, and by what embedding."""
    IDEA_SCREEN = "idea_screen"
    """The judges' screen of the ideas: every idea's scores, which were kept and why."""
    ESCALATION = "escalation"
    """Judges who still disagree on an item after more were asked: it goes to a human."""
    PROPOSAL_CRITIQUE = "proposal_critique"
    """A shallow critique of a proposal draft (local validity, needs for expansion); the
    revision it asks for derives from it."""
    PORTFOLIO = "portfolio"
    """A judge's look at the selected projects together: bundles and information screens."""
    BUNDLE = "bundle"
    """Selected projects worth running together (common assets, one question)."""
    INFORMATION_SCREEN = "information_screen"
    """Two selected projects kept from reading each other's artifacts (`information_screens`);
    status `lifted` once a human lifted it."""
    CLUSTER = "cluster"
    """Stage 4: a set of corpus papers whose abstracts embed close together (member ids)."""
    FIELD_SUMMARY = "field_summary"
    """Stage 4: the state of a cluster's sub-field, summarised from its members' abstracts."""
    PAIR_JUDGMENT = "pair_judgment"
    """Critic #3: two claims of two papers judged contradiction, convergence or unrelated."""
    EVIDENCE_CHECK = "evidence_check"
    """Critic #3: claims whose support shares one ancestor or testbed (over-represented)."""
    MISSING_ANGLES = "missing_angles"
    """Critic #3: dimensions of evidence a cluster's research has not looked at."""
    CALIBRATION = "calibration"
    """Critic #3: each claim's stated probability combined with convergent and contradicting
    evidence (the rule is in docs/pipeline.md)."""
    DISCUSSION = "discussion"
    """Critic #3: a contradiction between two papers, set out for a closer look."""
    PROJECT_SEED = "project_seed"
    """Critic #3: a new project that the next round's stage 1 reads as an extra idea."""
    REREVIEW_REQUEST = "rereview_request"
    """A deeper critic-#2 pass asked for on papers (by critic #3 or a rollback's policy); the
    next `autoalign rereview` acts on it."""
    REGENERATION_REQUEST = "regeneration_request"
    """A rollback's `regenerate` policy: the write-up of a research log to run again."""
    REREVIEW = "rereview"
    """One paper reviewed again with the current critics: the decision before and after, and
    the flaws that are new."""


class Status(StrEnum):
    """An artifact's status; the latest status event wins, earlier ones stay in the history."""

    OK = "ok"
    """A step's valid output."""
    FAILED = "failed"
    """A step whose output stayed invalid; the raw reply is kept."""
    DRAFT = "draft"
    """A paper before critic #2 decided."""
    SELECTED = "selected"
    """A proposal the selection chose (one of several projects)."""
    NOT_SELECTED = "not_selected"
    """A judged proposal that was not chosen."""
    ACCEPTED = "accepted"
    """A paper critic #2 accepted (accept, minor revision): it is in the corpus."""
    REVISION_REQUESTED = "revision_requested"
    """A paper critic #2 sent back for major revision."""
    REJECTED = "rejected"
    """A paper critic #2 rejected."""
    UNUSABLE = "unusable"
    """A step result critic #1 found a critical flaw in: not used downstream."""
    SUNSET = "sunset"
    """A proposal whose direction the execution loop ended."""
    PROPOSED = "proposed"
    """A spun-off proposal the judges did not approve (kept for a later look)."""
    FLAWED = "flawed"
    """An artifact with a flaw a reviewer confirmed (`autoalign review decide`); everything
    downstream of it is `tainted`."""
    TAINTED = "tainted"
    """An artifact built (transitively) from a `flawed` one: not to be trusted until re-examined.
    The event's reason names the flaw, the review and the reviewer."""
    REVISED = "revised"
    """A paper critic #2 sent back for a revision that was written (the paper that `revises`
    it supersedes it)."""
    ESCALATED = "escalated"
    """A paper critic #2 escalated to a human: a review request is open for it."""
    REASSESS = "reassess"
    """A proposal whose direction critic #2 sent back to scoping (see its
    `direction_decision`)."""
    HALTED = "halted"
    """A proposal whose direction critic #2 halted; the event's reason says why."""
    MERGED = "merged"
    """An idea merged into a near-duplicate (the reason names the one kept)."""
    SCREENED_IN = "screened_in"
    """An idea the judges' screen kept (it may become a proposal)."""
    SCREENED_OUT = "screened_out"
    """An idea the judges' screen dropped (the reason gives its score and the cutoff)."""
    LIFTED = "lifted"
    """An information screen a human lifted after an appeal (the reason names the review)."""


class PaperDecision(StrEnum):
    """Critic #2's decision about a paper (the seed's six; `docs/pipeline.md` gives the rules)."""

    ACCEPT = "accept"
    """The paper enters the corpus as it is (status `accepted`)."""
    MINOR_REVISION = "minor_revision"
    """Small fixes: the writer revises it with the critique (accepted as it is at the bound)."""
    MAJOR_REVISION = "major_revision"
    """Important changes: the writer revises it with the critique (escalated at the bound)."""
    REASSESS = "reassess"
    """The direction itself is in doubt: the project goes back to scoping."""
    ESCALATE = "escalate"
    """Critic #2 cannot decide (its estimate is in the escalation band, or its instances
    disagree): a human does."""
    HALT = "halt"
    """The direction is halted, in favour of safer or more promising ones."""
    REJECT = "reject"
    """Made only by `c2.review` version 1 (before the six decisions); kept so that stored
    decisions stay readable."""


class RollbackPolicy(StrEnum):
    """What a confirmed flaw sets off after the taint (the run's agenda, `[rollback] policy`)."""

    NONE = "none"
    """Taint only."""
    REREVIEW = "re-review"
    """Ask for a critic-#2 pass on every affected paper (a `rereview_request`)."""
    REGENERATE = "regenerate"
    """Ask for the write-up of every affected paper's research log to be run again (a
    `regeneration_request`), and for a critic-#2 pass on the papers."""


class ReviewDecision(StrEnum):
    """A human reviewer's decision on a review request (`autoalign review decide`)."""

    CONFIRM = "confirm"
    """The flaw is real: the request is resolved and everything downstream is rolled back."""
    DISMISS = "dismiss"
    """The flaw is not real (or not serious enough to act on): the request is resolved."""
    UNSURE = "unsure"
    """The reviewer cannot tell: stored as a label, the request stays open for another."""

    @property
    def resolves(self) -> bool:
        """Whether this decision resolves the request (every decision but `unsure`)."""
        return self is not ReviewDecision.UNSURE


class ReviewStatus(StrEnum):
    """Where a review request stands (`review_requests.status`)."""

    OPEN = "open"
    """Waiting for a decision (no reviewer yet, or only `unsure` ones)."""
    RESOLVED = "resolved"
    """A reviewer confirmed or dismissed it; `resolution` says which."""


class RunStatus(StrEnum):
    """A run's lifecycle: `running` until it ends `completed`, `stopped` or `failed`."""

    QUEUED = "queued"
    """Created by `autoalign submit`; waiting for an `autoalign worker` to run it."""
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    """Budget spent, a step failed under `on_failure = "stop"`, a stage had no input, or
    interrupted; running again resumes."""
    FAILED = "failed"
    """A provider failure or an internal error."""


class WorkKind(StrEnum):
    """What a work item in the shared queue (`work_items`) asks a worker to do."""

    PROJECT = "project"
    """Run (or resume) one agenda run through every stage (`autoalign submit`)."""
    SANDBOX = "sandbox"
    """Run one sandbox job and hand back its record (`QueueBackend`)."""


class WorkState(StrEnum):
    """Where a work item stands: `queued` until a worker claims it, `claimed` while a worker
    holds its lease, then `done` or `failed`. A claimed item whose lease expired (its worker
    died) is claimable again."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    """The handler raised, or the item was claimed too often without finishing."""


class Relation(StrEnum):
    """How a provenance edge links a child artifact to a parent."""

    DERIVED_FROM = "derived_from"
    """The child was made from the parent (the default)."""
    CONTEXT = "context"
    """The parent was shown as context."""
    SUMMARISES = "summarises"
    """A paper section summarises the parent."""
    CONTAINS = "contains"
    """A paper contains the parent section."""
    CITES = "cites"
    """A paragraph of a paper section rests on the parent (the section's content says which)."""
    COMPARES = "compares"
    """A divergence compares the parent, one of the two write-ups' sections."""
    REVISES = "revises"
    """The child is a revised version of the parent: a paper rewritten from critic #2's
    critique of it, or a proposal revised after its critique."""
    MEMBER = "member"
    """A cluster has the parent paper as a member."""
    FOLLOWS = "follows"
    """The child was asked or recorded because of the parent, which it was not shown (more
    judges of an idea, asked after the first ones disagreed; a project's first step after the
    portfolio that set the information screens its reads go through; a paper after the
    divergence of its two write-ups, which sets how closely critic #2 reads it): the run
    waited for the parent."""


class ClaimSource(StrEnum):
    """Who produced a claim's probability; calibration reports each source separately, since a
    formula's calibration says nothing about a model's."""

    STUDY = "study"
    """`autoalign study`: a formula (a normal approximation to the effect's estimate), no model."""
    PIPELINE = "pipeline"
    """Stated by an agent in the pipeline; the claim's artifact names the model."""


class Severity(StrEnum):
    """How much a finding matters downstream."""

    MINOR = "minor"
    """Worth fixing; the results stay usable."""
    MAJOR = "major"
    """The results are doubtful until fixed."""
    CRITICAL = "critical"
    """The results must not be used downstream."""


class JudgmentSource(StrEnum):
    """Who gave a judgment: a model judge (its reply is an artifact) or a human (a reviewer)."""

    MODEL = "model"
    """A model judge; the row names its model and the artifact holding its reply."""
    HUMAN = "human"
    """A human, e.g. through `autoalign compare`; the row names the reviewer."""


class CaseStatus(StrEnum):
    """A safety-case node's status after an evaluation (`autoalign case evaluate`)."""

    SUPPORTED = "supported"
    """Its evidence passes its test (a leaf), or its sub-claims support it."""
    DEFEATED = "defeated"
    """Its evidence fails its test, a sub-claim it needs is defeated, or a counter-claim
    against it (or against an assumption it is stated in) is supported."""
    UNDECIDED = "undecided"
    """No measurement (missing metric, no interval), undeveloped, or an open challenge."""
    STALE = "stale"
    """It would be supported, but a measurement it rests on is older than its freshness
    window."""


class LabelKind(StrEnum):
    """Where a label's truth comes from (`docs/learning.md`)."""

    ARTIFICIAL = "artificial"
    """A flaw the red team put in a subject built for it, or a model organism committed."""
    ORGANIC = "organic"
    """A flaw that occurred by itself: a human's review decision, a flaw a later and deeper check
    found, a claim a later result contradicted."""
    SEMI_ORGANIC = "semi_organic"
    """A real artifact of the research database with a small, local flaw injected into it."""


class LabelSource(StrEnum):
    """Which record a label was read from."""

    REDTEAM_TRIAL = "redteam_trial"
    """A red-team trial: a critic run on a tampered copy or a clean control."""
    ORGANISM = "organism"
    """A model organism's known misbehaviour (or its clean project) and what each critic did."""
    REVIEW = "review"
    """A human's decision (confirm or dismiss) on a flaw a critic raised."""
    REREVIEW = "rereview"
    """A flaw a re-review found that the paper's earlier review had missed."""
    CONTRADICTION = "contradiction"
    """A claim contradicted by a later result (critic #3's cross-examination)."""


class UpdateKind(StrEnum):
    """What a critic version changed (`autoalign learn versions`)."""

    RECALIBRATION = "recalibration"
    """A map from the critic's stated probabilities to calibrated ones (Platt or isotonic)."""
    FLAW_LIBRARY = "flaw_library"
    """Past flaws retrieved by similarity into the critic's prompts."""
    JUDGE_WEIGHTS = "judge_weights"
    """The weights of human and model judges in an aggregation, refitted from labels."""
    FINE_TUNED = "fine_tuned"
    """A model fine-tuned elsewhere on exported labels, registered to play the critic."""


# -- Expensive checks where they matter (issue 14, part CK) -------------------------------------


class CheckKind(StrEnum):
    """What a `learning_checks` row decided about (`docs/learning.md`, "Expensive checks where
    they matter")."""

    DEEP_REVIEW = "deep_review"
    """A retroactive deeper critic-#2 review of a load-bearing accepted paper."""
    HUMAN_ESCALATION = "human_escalation"
    """A paper whose critic #2 was confused, routed to the human review queue."""


class CheckTrigger(StrEnum):
    """Why an expensive check was considered."""

    DESCENDANTS = "descendants"
    """The paper has at least `[learning] load_bearing_descendants` descendants."""
    CASE_EVIDENCE = "case_evidence"
    """The paper feeds a metric a registered safety case reads."""
    CONFUSED_BAND = "confused_band"
    """Critic #2's stated severe-flaw probability is inside `[learning] confused_band`."""
    INSTANCE_SPREAD = "instance_spread"
    """Critic #2's instances' estimates spread by at least `[learning] instance_spread`."""


class CheckOutcome(StrEnum):
    """What became of an expensive check."""

    SCHEDULED = "scheduled"
    """A deeper review was asked for (a `rereview_request` carrying the deeper scrutiny)."""
    ESCALATED = "escalated"
    """A human review request was opened on the paper."""
    SKIPPED_BUDGET = "skipped_budget"
    """Not done: the pass's `deep_reviews` or the run's `human_escalations` budget was spent."""
    ALREADY_OPEN = "already_open"
    """Not opened: a human review request was already open on the paper."""


# -- Progressive log erasure (issue 14, part ER) ----------------------------------------------


class ErasureOutcome(StrEnum):
    """What an erasure policy did to one artifact (`erasures.outcome`)."""

    ERASED = "erased"
    """Its content was replaced by a record of the erasure and a summary."""
    REFUSED = "refused"
    """It was eligible by kind but protected; the row's reason says by what."""


class ErasureRefusal(StrEnum):
    """Why an artifact a policy would erase is protected (`erasures.reason`)."""

    OPEN_REVIEW = "open_review"
    """It is under an open review request, or upstream of one (the reviewer's evidence)."""
    CONFIRMED_FLAW = "confirmed_flaw"
    """A reviewer confirmed a flaw on it (a `confirm` review label)."""
    CASE_EVIDENCE = "case_evidence"
    """It feeds a metric that a registered safety case's latest snapshot reads, through a
    recorded flaw, a human label or a scored claim (`docs/learning.md`)."""
    RUN_NOT_FINISHED = "run_not_finished"
    """Its run has not completed (running, queued, stopped or failed: each can be resumed,
    and a resumed step reads its earlier artifacts' content)."""
