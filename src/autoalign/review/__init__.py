"""The human review queue: list open review requests by priority, read one with its full
context, record a reviewer's decision as a label, and roll back what a confirmed flaw taints;
record a human's comparison of two topics' positive cases (`add_comparison`).

The CLI (`autoalign review ...`) and a web page use this package alike; nothing here prints.
"""

from .._environment import REVIEWER_ENV_VAR
from ._compare import Better, TopicCases, add_comparison, human_comparisons, run_cases
from ._context import LOG_KINDS, Ancestor, RequestContext, request_context
from ._decide import check_reviewer, decide
from ._queue import SEVERITY_RANK, QueueEntry, review_queue
from ._reexamine import Reexamination, reexamine, rollback_policy

__all__ = [
    "LOG_KINDS",
    "REVIEWER_ENV_VAR",
    "SEVERITY_RANK",
    "Ancestor",
    "Better",
    "QueueEntry",
    "Reexamination",
    "RequestContext",
    "TopicCases",
    "add_comparison",
    "check_reviewer",
    "decide",
    "human_comparisons",
    "reexamine",
    "request_context",
    "review_queue",
    "rollback_policy",
    "run_cases",
]
