"""The research pipeline: propose → execute → write up (with critic #2's review) → across
papers (stage 4: clusters and critic #3), and the re-review of papers.

Each stage registers itself with the runtime, reads its inputs from the store and writes
artifacts with their provenance; the orchestrator runs the registered stages in order, so a run
can be resumed at any step and one stage can be re-run alone.
"""

from ..runtime import NullProgress, ProgressSink
from ._catalog import check_catalogs
from ._orchestrator import ROLES, STAGES, RunSummary, run_agenda, run_agenda_sync
from .paper import Link, PaperPart, PaperView, read_paper
from .rereview import RereviewReport, open_requests, rereview, rereview_sync
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
    "RereviewReport",
    "RunSummary",
    "check_catalogs",
    "open_requests",
    "read_paper",
    "rereview",
    "rereview_sync",
    "run_agenda",
    "run_agenda_sync",
]
