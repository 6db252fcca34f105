"""The research pipeline: propose → execute → write up (with critic #2's review).

Each stage registers itself with the runtime, reads its inputs from the store and writes
artifacts with their provenance; the orchestrator runs the registered stages in order, so a run
can be resumed at any step and one stage can be re-run alone.
"""

from ..runtime import NullProgress, ProgressSink
from ._catalog import check_catalogs
from ._orchestrator import ROLES, STAGES, RunSummary, run_agenda, run_agenda_sync
from ._selection_view import ProposalLine, SelectionView, selection_view
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
    "ProposalLine",
    "RunSummary",
    "SelectionView",
    "check_catalogs",
    "read_paper",
    "run_agenda",
    "run_agenda_sync",
    "selection_view",
]
