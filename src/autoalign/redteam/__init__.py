"""The red team: known flaws put in front of the critics, and the statistics of what they
caught (see `docs/statistics.md`); model organisms of slop, scripted researchers whose
misbehaviour is known (see `docs/redteam.md`)."""

from ._organism_config import (
    Count,
    OrganismsConfig,
    SummaryRow,
    load_organisms_config,
    summarise,
)
from ._organism_runs import (
    DEFAULT_QUESTION,
    LLM_REVIEW,
    Instructed,
    Measurement,
    OrganismRun,
    StepKeys,
    Survival,
    measure,
    organism_agenda,
    run_batch,
    run_organism,
    script_name,
)
from ._organisms import (
    FLAW_TYPES,
    INSTRUCTIONS,
    MATCHING,
    NEUTRAL,
    FlawType,
    Organism,
    OrganismPolicy,
    draw_misbehaviours,
)
from ._trial import Trial

__all__ = [
    "DEFAULT_QUESTION",
    "FLAW_TYPES",
    "INSTRUCTIONS",
    "LLM_REVIEW",
    "MATCHING",
    "NEUTRAL",
    "Count",
    "FlawType",
    "Instructed",
    "Measurement",
    "Organism",
    "OrganismPolicy",
    "OrganismRun",
    "OrganismsConfig",
    "StepKeys",
    "SummaryRow",
    "Survival",
    "Trial",
    "draw_misbehaviours",
    "load_organisms_config",
    "measure",
    "organism_agenda",
    "run_batch",
    "run_organism",
    "script_name",
    "summarise",
]
