"""Alembic environment of the research database.

Run only through `autoalign.store._migrate`, which passes an open connection (already inside the
transaction that holds the migration lock) as `config.attributes["connection"]`; there is no
alembic.ini and no offline (`--sql`) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from autoalign.store._schema import Base

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "autoalign migrations need a connection in config.attributes['connection']; "
        "run them with autoalign.store._migrate.upgrade_to_head(engine)"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
