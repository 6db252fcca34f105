"""Storing a sandbox run in the research database, under the stage and kind the caller names."""

from __future__ import annotations

from collections.abc import Sequence

from ..sandbox import SandboxRun, describe_run
from ..store import ArtifactRecord, Store
from ..vocabulary import Kind, Stage, Status

SANDBOX_RUN_KIND = Kind.SANDBOX_RUN
"""The artifact kind sandbox runs are stored as unless the caller names another."""


def record_sandbox_run(
    store: Store,
    *,
    run_id: int | None,
    sandbox_run: SandboxRun,
    stage: Stage,
    kind: Kind = SANDBOX_RUN_KIND,
    parents: Sequence[int] = (),
    step_key: str | None = None,
) -> ArtifactRecord:
    """Store a sandbox run as an artifact of `kind` in `stage`, with status ok or failed.

    `content_text` is the sandbox's readable summary; `content_json` the full record
    (non-finite numbers as strings, see `SandboxRun`). With a `step_key` that the run already
    has, the existing artifact is returned and nothing is written.
    """
    described = describe_run(sandbox_run)
    return store.add_artifact(
        run_id=run_id,
        kind=kind,
        stage=stage,
        content_text=described.text,
        content_json=described.content,
        step_key=step_key,
        title=described.title,
        status=Status.OK if described.ok else Status.FAILED,
        parents=list(parents),
    )
