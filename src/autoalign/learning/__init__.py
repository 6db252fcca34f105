"""Critics that learn: labels, online updates, load-bearing re-checks, A/B tests of components
and progressive log erasure (`docs/learning.md`).

Labels of three kinds (artificial, organic, semi-organic) are collected into one table; every
update made from them (a flaw library, a recalibration of stated probabilities, refitted judge
weights, a fine-tuned model) is a new critic version, and every result names the version that
produced it. Nothing here prints.
"""

# _finetune and _weights: fine-tuning elsewhere and judge weights (part JW).
from ._finetune import Export, export_digest, export_finetune, register_fine_tuned
from ._labels import CRITIC2_REVIEW, SEVERE, Collected, collect_labels
from ._weights import Reliability, WeightsRefit, current_weights, refit_judge_weights

__all__ = ["CRITIC2_REVIEW", "SEVERE", "Collected", "collect_labels"]
# Judge weights and fine-tuning elsewhere (part JW).
__all__ += [
    "Export",
    "Reliability",
    "WeightsRefit",
    "current_weights",
    "export_digest",
    "export_finetune",
    "refit_judge_weights",
    "register_fine_tuned",
]
