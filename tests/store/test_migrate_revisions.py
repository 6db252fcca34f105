"""Later revisions, written into a scratch copy of the migrations: drafting, atomicity, batch."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from autoalign.errors import DataError
from autoalign.store import Store, _migrate
from autoalign.store._migrate import current_revision, draft_revision, head_revision

HEAD = head_revision()
NEXT = f"{int(re.match(r'[0-9]+', HEAD).group()) + 1:04d}"  # type: ignore[union-attr]
"""The revision a new migration gets: these tests write one after the shipped head."""


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The package's migrations copied to a scratch folder that `_migrate` then uses."""
    scratch = tmp_path / "migrations"
    shutil.copytree(_migrate.MIGRATIONS_DIR, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_migrate, "MIGRATIONS_DIR", scratch)
    _migrate._script.cache_clear()
    yield scratch
    _migrate._script.cache_clear()


def _write_revision(migrations: Path, body: str) -> None:
    header = f"""\
        import sqlalchemy as sa
        from alembic import op

        revision = "{NEXT}"
        down_revision = "{HEAD}"
        branch_labels = None
        depends_on = None


        def downgrade() -> None:
            pass


    """
    source = textwrap.dedent(header) + textwrap.dedent(body)
    (migrations / "versions" / f"{NEXT}_test.py").write_text(source)
    _migrate._script.cache_clear()


def test_draft_revision_writes_the_next_numbered_file(migrations: Path, db_url: str) -> None:
    path = draft_revision("nothing changed")

    assert path == migrations / "versions" / f"{NEXT}_nothing_changed.py"
    source = path.read_text()
    assert f"revision: str = '{NEXT}'" in source
    assert f"down_revision: str | Sequence[str] | None = '{HEAD}'" in source
    assert head_revision() == NEXT
    with Store.open(db_url) as store:
        assert current_revision(store.engine) == NEXT


def test_a_failing_revision_leaves_the_database_as_it_was(migrations: Path, db_url: str) -> None:
    Store.open(db_url).close()
    _write_revision(
        migrations,
        """\
        def upgrade() -> None:
            op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
            raise RuntimeError("migration bug")
        """,
    )

    with pytest.raises(RuntimeError, match="migration bug"):
        Store.open(db_url)

    with Store.open(db_url, migrate=False) as store:
        assert current_revision(store.engine) == HEAD
        assert "half_done" not in inspect(store.engine).get_table_names()


def test_a_batch_rebuild_of_a_referenced_table_keeps_rows_and_foreign_keys(
    migrations: Path, db_url: str
) -> None:
    """Rebuilding `artifacts` (SQLite's way to alter it) while events and edges point at it."""
    with Store.open(db_url) as store:
        a = store.add_artifact(run_id=None, kind="idea", stage="ideate")
        b = store.add_artifact(run_id=None, kind="plan", stage="plan", parents=[a.id])
    _write_revision(
        migrations,
        """\
        def upgrade() -> None:
            rebuild = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
            with op.batch_alter_table("artifacts", recreate=rebuild) as batch:
                batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        """,
    )

    with Store.open(db_url) as store:
        assert current_revision(store.engine) == NEXT
        assert store.ancestors(b.id) == [a.id]
        assert [e.status for e in store.status_history(b.id)] == ["ok"]
        with pytest.raises(DataError):
            store.add_artifact(run_id=None, kind="plan", stage="plan", parents=[9999])
