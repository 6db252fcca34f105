"""The human review queue: list open review requests by priority, read one with its full
context, record a reviewer's decision as a label, and roll back what a confirmed flaw taints.

The CLI (`autoalign review ...`) and a web page use this package alike; nothing here prints.
"""

from .._environment import REVIEWER_ENV_VAR
from ._context import LOG_KINDS, Ancestor, RequestContext, request_context
from ._decide import check_reviewer, decide
from ._queue import SEVERITY_RANK, QueueEntry, review_queue
from ._reexamine import Reexamination, reexamine, rollback_policy

__all__ = [
    "LOG_KINDS",
    "REVIEWER_ENV_VAR",
    "SEVERITY_RANK",
    "Ancestor",
    "QueueEntry",
    "Reexamination",
    "RequestContext",
    "check_reviewer",
    "decide",
    "reexamine",
    "request_context",
    "review_queue",
    "rollback_policy",
]
