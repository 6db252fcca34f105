"""Provenance walks over the artifact DAG. (Being implemented.)"""

from __future__ import annotations

from sqlalchemy.orm import Session


def ancestors(session: Session, artifact_id: int) -> list[int]:
    raise NotImplementedError


def descendants(session: Session, artifact_id: int) -> list[int]:
    raise NotImplementedError
