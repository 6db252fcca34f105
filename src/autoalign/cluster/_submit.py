"""Queueing an agenda's run for the workers."""

from __future__ import annotations

from ..agenda import Agenda
from ..models import check_models
from ..pipeline import ROLES, check_catalogs
from ..store import Store, Submission


def submit_agenda(agenda: Agenda, *, store: Store, new: bool = False) -> Submission:
    """Queue `agenda`'s run as a `project` work item; an `autoalign worker` runs it.

    The models and the topics' testbeds are checked first, as `autoalign run` checks them.
    Without `new` the agenda's unfinished run is queued (or nothing, when its latest run
    completed); with `new` a fresh run is created. The run is `queued` and owned by nobody until
    a worker claims its item.

    Raises:
        ConfigError: a role's model cannot be used, or a topic names an unknown testbed.
    """
    check_models(agenda.models, ROLES, budget=agenda.budget)
    check_catalogs(agenda)
    return store.submit_run(
        name=agenda.run.name,
        agenda_digest=agenda.digest(),
        config=agenda.model_dump(mode="json"),
        seed=agenda.run.seed,
        budget_tokens=agenda.budget.max_tokens,
        budget_usd=agenda.budget.max_usd,
        new=new,
    )
