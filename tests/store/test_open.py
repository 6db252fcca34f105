"""`Store.open`: opening for reading creates nothing; bad URLs and unusable files are one
StoreError naming the database and the next step."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from autoalign.errors import StoreError
from autoalign.store import Store


def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no research database at .*autoalign init"):
        Store.open(f"sqlite:///{tmp_path}/a/b/research.db", create=False)
    assert list(tmp_path.iterdir()) == []


def test_reading_an_empty_database_does_not_migrate_it(db_url: str) -> None:
    """A database server's empty database (or an empty SQLite file) is not a research database
    and reading it leaves it empty."""
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()
    with pytest.raises(StoreError, match="no research database at"):
        Store.open(db_url, create=False)
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_reading_an_existing_database(db_url: str) -> None:
    Store.open(db_url).close()
    with Store.open(db_url, create=False) as store:
        assert store.list_runs() == []


def test_password_is_masked(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a password needs a server")
    wrong = db_url.replace("://", "://nobody-here:s3cret-pw@", 1) if "@" not in db_url else (
        db_url.split("://", 1)[0] + "://nobody-here:s3cret-pw@" + db_url.rsplit("@", 1)[1]
    )
    with pytest.raises(StoreError) as info:
        Store.open(wrong)
    message = str(info.value)
    assert "s3cret-pw" not in message and "***" in message and "\n" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "empty"),
        ("garbage", "cannot parse"),
        ("mysql://u:p@localhost/x", "driver"),
        ("nosuch://x", "unknown database kind"),
        ("sqlite:///file:x.db?mode=ro&uri=true", "URI filenames"),
    ],
)
def test_bad_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    for create in (True, False):
        with pytest.raises(StoreError, match=expected):
            Store.open(url, create=create)
    assert list(tmp_path.iterdir()) == []
