"""A run's dependency graph and its critical path: the longest chain of dependent work.

The graph is read from what a run records anyway plus `step_calls`:

- nodes are the run's model calls (ledger rows, weighted by their recorded `latency_s`; a
  cache hit weighs 0), its sandbox runs (`sandbox_run` artifacts, weighted by the sandbox's
  recorded `wall_s`) and its other artifacts (weight 0: records and step outputs, which pass
  dependencies on);
- an artifact depends on its provenance parents and on the calls its step awaited
  (`step_calls`);
- a call depends on its step's parent artifacts and on the calls of the same step named in its
  `after_key` rows (finished before it was issued).

Artifacts are visited in id order, which is a topological order (an artifact's parents exist
before it, and a step's calls finish before its artifact is stored), so one pass with a number
per node finds the longest path. A call no stored step claims (an interrupted step, or a run
older than `step_calls`) is a node without dependencies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..vocabulary import Kind
from ._schema import Artifact, LLMCall, ProvenanceEdge, StepCall


@dataclass(frozen=True, kw_only=True)
class CallWait:
    """A call a step awaited, and the calls of the same step that finished before it was
    issued (what it waited on within the step, besides the step's parents)."""

    call_key: str
    """The step key the call was booked under in the ledger."""
    after: tuple[str, ...] = ()
    """Call keys of the same step that had finished before this call was issued."""


@dataclass(frozen=True, kw_only=True)
class ChainNode:
    """One node of a critical path."""

    kind: Literal["call", "sandbox_run"]
    """A model call or a sandbox run."""
    key: str
    """The call's ledger step key, or the artifact's step key (or `#id` without one)."""
    artifact_id: int | None
    """The artifact (for a call: the step's artifact it went into; None when unattached)."""
    duration_s: float
    """The node's recorded duration (0 for an artifact that is not a sandbox run)."""


@dataclass(frozen=True, kw_only=True)
class CriticalPath:
    """The longest chain of dependent work in a run."""

    duration_s: float
    """Sum of the recorded durations along the chain: no schedule of this run's work, however
    concurrent, could finish sooner."""
    calls: int
    """Model calls on the chain."""
    sandbox_runs: int
    """Sandbox runs on the chain."""
    chain: tuple[ChainNode, ...]
    """The chain's calls and sandbox runs, first to last."""
    total_calls: int
    """Ledger rows of the run."""
    unattached_calls: int
    """Ledger rows no stored step claims (an interrupted step, or a run older than
    `step_calls`); each counts as a chain of its own."""


@dataclass(frozen=True, kw_only=True)
class WorkNode:
    """A node of a run's dependency graph, with the nodes it waited on."""

    id: str
    """`call:<ledger step key>` or `artifact:<id>`."""
    kind: Literal["call", "sandbox_run", "artifact"]
    """A model call, a sandbox run, or an artifact that only passes dependencies on."""
    key: str
    """The call's ledger step key, or the artifact's step key (`#<id>` without one)."""
    artifact_id: int | None
    """The artifact (for a call: the step's artifact its answer went into; None unattached)."""
    duration_s: float
    """Recorded duration: a call's `latency_s`, a sandbox run's `wall_s`, else 0."""
    deps: tuple[str, ...]
    """Ids of the nodes it waited on, each earlier in the graph's order."""


def dependency_graph(s: Session, run_id: int) -> Iterator[WorkNode]:
    """The nodes of run `run_id`'s dependency graph in a topological order."""
    latency: dict[str, float] = {}
    for key, lat in s.execute(
        select(LLMCall.step_key, LLMCall.latency_s)
        .where(LLMCall.run_id == run_id)
        .order_by(LLMCall.id)
    ):
        latency[key or ""] = float(lat or 0.0)  # the latest ask of a key counts

    parents: dict[int, list[int]] = defaultdict(list)
    for child, parent in s.execute(
        select(ProvenanceEdge.child_id, ProvenanceEdge.parent_id)
        .join(Artifact, Artifact.id == ProvenanceEdge.child_id)
        .where(Artifact.run_id == run_id)
    ):
        parents[child].append(parent)

    waits: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for artifact_id, call_key, after_key in s.execute(
        select(StepCall.artifact_id, StepCall.call_key, StepCall.after_key)
        .join(Artifact, Artifact.id == StepCall.artifact_id)
        .where(Artifact.run_id == run_id)
        .order_by(StepCall.id)
    ):
        afters = waits[artifact_id].setdefault(call_key, [])
        if after_key is not None:
            afters.append(after_key)

    rows = s.execute(
        select(Artifact.id, Artifact.kind, Artifact.step_key)
        .where(Artifact.run_id == run_id)
        .order_by(Artifact.id)
    ).all()
    sandbox_s: dict[int, float] = {}
    sandbox_ids = [a for a, kind, _ in rows if kind == Kind.SANDBOX_RUN]
    for chunk in range(0, len(sandbox_ids), 500):
        for artifact_id, content in s.execute(
            select(Artifact.id, Artifact.content_json)
            .where(Artifact.id.in_(sandbox_ids[chunk:chunk + 500]))
        ):
            if isinstance(content, dict) and isinstance(content.get("erased"), dict):
                content = content.get("summary")  # an erased run keeps its wall_s (part ER)
            wall = content.get("wall_s") if isinstance(content, dict) else None
            sandbox_s[artifact_id] = float(wall) if isinstance(wall, int | float) else 0.0

    known: set[int] = set()
    attached: set[str] = set()
    for artifact_id, _kind, step_key in rows:
        own = [f"artifact:{p}" for p in parents.get(artifact_id, ()) if p in known]
        calls = []
        for call_key, afters in waits.get(artifact_id, {}).items():
            attached.add(call_key)
            calls.append(f"call:{call_key}")
            yield WorkNode(
                id=f"call:{call_key}", kind="call", key=call_key, artifact_id=artifact_id,
                duration_s=latency.get(call_key, 0.0),
                deps=(*own, *[f"call:{a}" for a in afters]),
            )
        known.add(artifact_id)
        yield WorkNode(
            id=f"artifact:{artifact_id}",
            kind="sandbox_run" if artifact_id in sandbox_s else "artifact",
            key=step_key or f"#{artifact_id}", artifact_id=artifact_id,
            duration_s=sandbox_s.get(artifact_id, 0.0), deps=(*own, *calls),
        )
    for call_key, lat in latency.items():
        if call_key not in attached:
            yield WorkNode(
                id=f"call:{call_key}", kind="call", key=call_key, artifact_id=None,
                duration_s=lat, deps=(),
            )


def critical_path(s: Session, run_id: int) -> CriticalPath:
    """The longest chain of dependent calls and sandbox runs of run `run_id`."""
    # per node: (finish time, calls, sandbox runs) of the longest chain ending there, and the
    # node before it on that chain
    best: dict[str, tuple[float, int, int]] = {}
    before: dict[str, str | None] = {}
    nodes: dict[str, WorkNode] = {}
    total = unattached = 0
    for node in dependency_graph(s, run_id):
        start, pred = (0.0, 0, 0), None
        for dep in node.deps:
            found = best.get(dep)
            if found is not None and found > start:
                start, pred = found, dep
        is_call, is_run = node.kind == "call", node.kind == "sandbox_run"
        best[node.id] = (start[0] + node.duration_s, start[1] + is_call, start[2] + is_run)
        before[node.id] = pred
        if is_call or is_run:
            nodes[node.id] = node
        total += is_call
        unattached += is_call and node.artifact_id is None
    if not best:
        return CriticalPath(
            duration_s=0.0, calls=0, sandbox_runs=0, chain=(), total_calls=0,
            unattached_calls=0,
        )
    last: str | None = max(best, key=lambda n: best[n])
    top = best[last] if last is not None else (0.0, 0, 0)
    chain: list[ChainNode] = []
    while last is not None:
        if last in nodes:
            n = nodes[last]
            assert n.kind != "artifact"
            chain.append(ChainNode(
                kind=n.kind, key=n.key, artifact_id=n.artifact_id, duration_s=n.duration_s
            ))
        last = before[last]
    chain.reverse()
    return CriticalPath(
        duration_s=top[0], calls=top[1], sandbox_runs=top[2], chain=tuple(chain),
        total_calls=total, unattached_calls=unattached,
    )


__all__ = [
    "CallWait", "ChainNode", "CriticalPath", "WorkNode", "critical_path", "dependency_graph",
]
