"""Critics: checks that stand between the research agents and the research database.

A critic has an id, a version, a kind (`programmatic`: a rule in code; `llm`: asks a model),
a scale (`CriticScale`: critic #1 checks an `ExecutedStep`, critic #2 a `PaperDraft`) and an
async `check` that returns `Finding`s in the shared flaw taxonomy (`docs/flaws.md`); `Critic` is
generic in the subject it checks. Critics register with `@register_critic`; every flaw stored
with `record_findings` (or through the runtime's `Findings`) says which critic and version found
it; `is_selected` picks the steps critic #1 checks (`CheckRate`: a share of steps, more after
failed attempts). Importing this package registers critic #1's checks and critic #2:

- `c1.numbers-match`, `c1.results-produced`, `c1.code-integrity`, `c1.claim-evidence`,
  `c1.question-scope` (programmatic, with known-answer cases in `critics.known_answers`);
- `c1.spirit` (LLM, role `critic-1`): does the work preserve the spirit of the scoped task?
- `c2.review` (LLM, role `critic-2`): does the paper faithfully convey its research log, and
  should it be accepted?
- `c2.numbers-match`, `c2.claim-strength`, `c2.abstract-scope` (programmatic, critic #2's
  checks of a paper against its log's numbers and claims; known-answer cases too).
- `c2.babble`, `c2.investigate` (LLM, role `critic-2`): critic #2's babble and prune in the
  write-up: instances with different contexts and foci suspect flaws, the investigator confirms
  or refutes the most important ones against the log.
"""

from . import (  # noqa: F401  (registers)
    _babble,
    _code,
    _evidence,
    _numbers,
    _paper_checks,
    _produced,
    _review,
    _spirit,
)
from ._babble import (
    CONTEXTS,
    FOCI,
    SEVERITY_WEIGHT,
    CandidateCase,
    CandidateFlaw,
    FlawCandidates,
    FlawCheck,
    FlawInvestigator,
    InstanceBrief,
    PaperBabble,
    locate,
)
from ._finding import Finding, Location
from ._judges import (
    Allocation,
    Comparison,
    PairwiseChoice,
    RubricScore,
    Share,
    allocate,
    disagreement,
    majority_spread,
    read_swapped,
    strengths,
)
from ._library import (
    INVESTIGATION,
    FlawLibrary,
    LibraryEntry,
    LibraryHit,
    LibrarySnapshot,
    library_version,
)
from ._llm import LLMCritic
from ._paper import (
    PAPER_SECTIONS,
    EvidenceClaim,
    LogNumber,
    PaperClaim,
    PaperDraft,
    PaperSection,
    SectionName,
)
from ._programmatic import ProgrammaticCritic
from ._protocol import (
    CRITIC_KINDS,
    Critic,
    CriticContext,
    CriticKind,
    CriticScale,
    get_critic,
    list_critics,
    register_critic,
)
from ._record import record_findings
from ._review import CATEGORY, Decision, PaperCritique, PaperFlaw, PaperFlawCategory, PaperReview
from ._sampling import CheckRate, is_selected
from ._spirit import SpiritIssue, SpiritVerdict
from ._step import (
    ExecutedStep,
    Interpretation,
    LogRow,
    ResearchLog,
    ScopedTask,
    StepClaim,
    StepRun,
    WorkerCode,
    load_step_runs,
)
from ._taxonomy import TAXONOMY_VERSION, FlawCategory, Severity

__all__ = [
    "CATEGORY",
    "CONTEXTS",
    "CRITIC_KINDS",
    "FOCI",
    "INVESTIGATION",
    "PAPER_SECTIONS",
    "SEVERITY_WEIGHT",
    "TAXONOMY_VERSION",
    "Allocation",
    "CandidateCase",
    "CandidateFlaw",
    "CheckRate",
    "Comparison",
    "Critic",
    "CriticContext",
    "CriticKind",
    "CriticScale",
    "Decision",
    "EvidenceClaim",
    "ExecutedStep",
    "Finding",
    "FlawCandidates",
    "FlawCategory",
    "FlawCheck",
    "FlawInvestigator",
    "FlawLibrary",
    "InstanceBrief",
    "Interpretation",
    "LLMCritic",
    "LibraryEntry",
    "LibraryHit",
    "LibrarySnapshot",
    "Location",
    "LogNumber",
    "LogRow",
    "PairwiseChoice",
    "PaperBabble",
    "PaperClaim",
    "PaperCritique",
    "PaperDraft",
    "PaperFlaw",
    "PaperFlawCategory",
    "PaperReview",
    "PaperSection",
    "ProgrammaticCritic",
    "ResearchLog",
    "RubricScore",
    "ScopedTask",
    "SectionName",
    "Severity",
    "Share",
    "SpiritIssue",
    "SpiritVerdict",
    "StepClaim",
    "StepRun",
    "WorkerCode",
    "allocate",
    "disagreement",
    "get_critic",
    "is_selected",
    "library_version",
    "list_critics",
    "load_step_runs",
    "locate",
    "majority_spread",
    "read_swapped",
    "record_findings",
    "register_critic",
    "strengths",
]
