"""Critics that learn: labels, online updates, load-bearing re-checks, A/B tests of components
and progressive log erasure (`docs/learning.md`).

Labels of three kinds (artificial, organic, semi-organic) are collected into one table; every
update made from them (a flaw library, a recalibration of stated probabilities, refitted judge
weights, a fine-tuned model) is a new critic version, and every result names the version that
produced it. Nothing here prints.
"""

# -- Progressive log erasure (issue 14, part ER) ----------------------------------------------
from ._erasure import (
    ErasurePlan,
    ErasureResult,
    PlannedErasure,
    Protection,
    ScoreTerms,
    apply_erasure,
    erased_content,
    plan_erasure,
    protections,
    score_terms,
)
from ._erasure_policy import (
    DEFAULT_KINDS,
    ERASABLE_KINDS,
    ErasureBudget,
    ErasurePolicy,
    ErasureWeights,
    load_policy,
    parse_policy,
)
from ._erasure_summary import render_summary, summarize
from ._erasure_view import code_from_summary, sandbox_from_summary, summary_view

__all__ = [
    "DEFAULT_KINDS",
    "ERASABLE_KINDS",
    "ErasureBudget",
    "ErasurePlan",
    "ErasurePolicy",
    "ErasureResult",
    "ErasureWeights",
    "PlannedErasure",
    "Protection",
    "ScoreTerms",
    "apply_erasure",
    "code_from_summary",
    "erased_content",
    "load_policy",
    "parse_policy",
    "plan_erasure",
    "protections",
    "render_summary",
    "sandbox_from_summary",
    "score_terms",
    "summarize",
    "summary_view",
]
