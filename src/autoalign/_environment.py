"""What the environment sets: the research database's URL and default place, the reviewer.

A base module with no imports of its own, so that the command line can name these without
loading the store (and SQLAlchemy with it) before a command needs the database.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_DB_DIR = ".autoalign"
"""The folder, in the working directory, that holds the default research database."""

DEFAULT_DB_PATH = Path(DEFAULT_DB_DIR) / "research.db"
"""The research database when neither `--db` nor `$AUTOALIGN_DB` names one."""

DB_ENV_VAR = "AUTOALIGN_DB"
"""The environment variable holding the research database's SQLAlchemy URL."""

REVIEWER_ENV_VAR = "AUTOALIGN_REVIEWER"
"""The environment variable naming who records review decisions."""
