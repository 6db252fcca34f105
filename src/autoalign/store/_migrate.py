"""Alembic migrations, run programmatically. (Being implemented.)"""

from __future__ import annotations

from sqlalchemy import Engine

from ._schema import Base


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the latest revision; refuse one newer than the code."""
    Base.metadata.create_all(engine)  # placeholder until the Alembic migrations land


def check_not_newer(engine: Engine) -> None:
    """Raise SchemaVersionError if the database is at a revision this code does not know."""
