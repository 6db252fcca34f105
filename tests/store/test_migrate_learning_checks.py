"""Revision 0019: the `learning_checks` table (issue 14, part CK); older rows stay."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from autoalign.store import Store
from autoalign.store._migrate import alembic_config, current_revision, head_revision
from autoalign.store._store import make_engine
from autoalign.vocabulary import CheckKind, CheckOutcome, CheckTrigger, Kind, Stage

TABLE = "learning_checks"


def test_upgrading_from_0018_adds_the_table(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0018")
            assert TABLE not in set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == head_revision()
        run = store.create_run(name="r", agenda_digest="d" * 64, config={})
        paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP).id
        row = store.add_learning_check(
            kind=CheckKind.DEEP_REVIEW, paper_id=paper, trigger=CheckTrigger.CASE_EVIDENCE,
            outcome=CheckOutcome.SKIPPED_BUDGET, reason="budget spent", case_name="c",
            metric="db:papers.flawed_rate", run_id=run.id,
        )
        assert store.learning_checks(paper_id=paper) == [row]
        assert (row.case_name, row.metric, row.outcome) == (
            "c", "db:papers.flawed_rate", CheckOutcome.SKIPPED_BUDGET)


def test_downgrading_0019_drops_only_the_table(store: Store) -> None:
    store.create_run(name="r", agenda_digest="d" * 64, config={})
    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0018")
        assert TABLE not in set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT name FROM runs")).scalars().all() == ["r"]
    with store.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0019")
        assert TABLE in set(inspect(conn).get_table_names())
