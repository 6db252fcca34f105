"""The research pipeline: propose → execute → write up (with critic #2's review) → across
papers (stage 4: clusters and critic #3), and the re-review of papers.

Each stage registers itself with the runtime, reads its inputs from the store and writes
artifacts with their provenance; the orchestrator runs the registered stages in order, so a run
can be resumed at any step and one stage can be re-run alone.
"""

from ..runtime import NullProgress, ProgressSink
from ._across import RereviewRequest
from ._catalog import check_catalogs
from ._confused import Confusion, confusion
from ._critic1 import stored_executed_step
from ._critic2 import active_recalibration, review_draft, stored_paper_draft
from ._decisions import Critic2Report, Recalibration
from ._divergence import DivergenceContent, Scrutiny, scrutiny_for
from ._funnel import Agreement, Funnel, FunnelRow, ScreenedOut, stage1_funnel
from ._orchestrator import ROLES, STAGES, RunSummary, run_agenda, run_agenda_sync
from ._selection_view import ProposalLine, SelectionView, selection_view
from ._topics import JUDGE_AGGREGATION, JUDGE_AGGREGATION_VERSION
from .paper import Link, PaperPart, PaperView, ParagraphLink, ParagraphView, read_paper
from .rereview import RereviewReport, open_requests, rereview, rereview_sync
from .writeup import SECTIONS

__all__ = [
    "JUDGE_AGGREGATION",
    "JUDGE_AGGREGATION_VERSION",
    "ROLES",
    "SECTIONS",
    "STAGES",
    "Agreement",
    "Confusion",
    "Critic2Report",
    "DivergenceContent",
    "Funnel",
    "FunnelRow",
    "Link",
    "NullProgress",
    "PaperPart",
    "PaperView",
    "ParagraphLink",
    "ParagraphView",
    "ProgressSink",
    "ProposalLine",
    "Recalibration",
    "RereviewReport",
    "RereviewRequest",
    "RunSummary",
    "ScreenedOut",
    "Scrutiny",
    "SelectionView",
    "active_recalibration",
    "check_catalogs",
    "confusion",
    "open_requests",
    "read_paper",
    "rereview",
    "rereview_sync",
    "review_draft",
    "run_agenda",
    "run_agenda_sync",
    "scrutiny_for",
    "selection_view",
    "stage1_funnel",
    "stored_executed_step",
    "stored_paper_draft",
]
