"""Fixtures shared by the whole test suite."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic_ai import models as pai_models
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from autoalign.store import Store

PG_URL_ENV = "AUTOALIGN_TEST_PG_URL"
"""A PostgreSQL URL whose role may CREATE DATABASE; the PostgreSQL tests skip without it."""


def _fresh_pg_database(admin_url: str) -> Iterator[str]:
    """Create a database of its own for one test, yield its URL, drop it afterwards."""
    url = make_url(admin_url)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"autoalign_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop_pg_database(admin, name)
    finally:
        admin.dispose()


def _drop_pg_database(admin: Engine, name: str) -> None:
    # A plain DROP stops an autovacuum worker busy in the database (FORCE would need the right
    # to signal it); FORCE is the fallback for connections a failed test left open.
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    except OperationalError:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty research database: a SQLite file, and a fresh PostgreSQL database when
    `AUTOALIGN_TEST_PG_URL` is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'research.db'}"
        return
    admin_url = os.environ.get(PG_URL_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} (scripts/start-postgres.sh prints one)")
    yield from _fresh_pg_database(admin_url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The store at `db_url`, migrated to head."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(autouse=True)
def _no_real_model_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a real provider: no keys, and pydantic-ai refuses provider requests.

    Tests that drive a provider model against an in-memory transport opt back in with
    `pydantic_ai.models.override_allow_model_requests(True)`.
    """
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "AUTOALIGN_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(pai_models, "ALLOW_MODEL_REQUESTS", False)
