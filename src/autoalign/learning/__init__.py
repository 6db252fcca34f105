"""Critics that learn: labels, online updates, load-bearing re-checks, A/B tests of components
and progressive log erasure (`docs/learning.md`).

Labels of three kinds (artificial, organic, semi-organic) are collected into one table; every
update made from them (a flaw library, a recalibration of stated probabilities, refitted judge
weights, a fine-tuned model) is a new critic version, and every result names the version that
produced it. Nothing here prints.
"""

# -- Expensive checks where they matter (part CK): deeper reviews of load-bearing papers ------
from ._checks import (
    REVIEW_KINDS,
    CheckYield,
    LoadBearing,
    Share,
    case_metrics,
    check_yield,
    load_bearing,
    schedule_load_bearing,
)

__all__ = [
    "REVIEW_KINDS",
    "CheckYield",
    "LoadBearing",
    "Share",
    "case_metrics",
    "check_yield",
    "load_bearing",
    "schedule_load_bearing",
]
