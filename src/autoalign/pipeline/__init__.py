"""The four-stage research pipeline: propose → execute → write up → cross-examine.

Each stage reads artifacts and writes artifacts with their provenance; the orchestrator
sequences them, so a run can be resumed at any step.
"""

from ._orchestrator import ROLES, STAGES, RunSummary, run_agenda, run_agenda_sync
from ._steps import NullProgress, ProgressSink
from .paper import Link, PaperPart, PaperView, read_paper
from .writeup import SECTIONS

__all__ = [
    "ROLES",
    "SECTIONS",
    "STAGES",
    "Link",
    "NullProgress",
    "PaperPart",
    "PaperView",
    "ProgressSink",
    "RunSummary",
    "read_paper",
    "run_agenda",
    "run_agenda_sync",
]
