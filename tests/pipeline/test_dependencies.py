"""The dependency graph a scripted run records, and the concurrency of a babble's prompts."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.store import Store, WorkNode

from .conftest import Team
from .test_run import CALLS, agenda

_names = itertools.count()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


def _ancestors(nodes: dict[str, WorkNode], node: str) -> set[str]:
    seen: set[str] = set()
    todo = list(nodes[node].deps)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(nodes[n].deps)
    return seen


def _most_calls(graph: list[WorkNode]) -> int:
    """The most calls on any chain of the graph (by count, whatever their durations)."""
    best: dict[str, int] = {}
    for n in graph:
        best[n.id] = max((best[d] for d in n.deps), default=0) + (n.kind == "call")
    return max(best.values())


async def test_a_scripted_run_records_what_each_call_waited_on(
    store: Store, team: tuple[Team, str]
) -> None:
    _, model = team
    summary = await run_agenda(agenda(model), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    graph = store.dependency_graph(summary.run.id)
    nodes = {n.id: n for n in graph}
    by_key = {n.key: n for n in graph if n.kind != "call"}

    calls = [n for n in graph if n.kind == "call"]
    assert len(calls) == CALLS and all(n.artifact_id is not None for n in calls)

    # The babble's samples went out together: none waited on another; each rests on the
    # allocation, and so on the comparisons of the positive cases.
    allocation = f"artifact:{by_key['propose/allocation'].artifact_id}"
    for t, s in itertools.product((0, 1), (0, 1)):
        babbled = nodes[f"call:propose/ideas/{t}/{s}"]
        assert not [d for d in babbled.deps if d.startswith("call:")]
        assert allocation in babbled.deps
        assert {"call:propose/compare/0/ab", "call:propose/compare/0/ba",
                f"call:propose/positive-case/{t}/0"} <= _ancestors(nodes, babbled.id)
    # A judge's call depends on the idea it judges, and so on the babble that made it (the
    # ideas of sample 1 repeat sample 0's and were merged into them).
    scores = [f"call:propose/idea-score/{t}/0/{j}/{k}"
              for t, j, k in itertools.product((0, 1), (0, 1), (0, 1))]
    for key in scores:
        t, _, j = key.removeprefix("call:propose/idea-score/").split("/")[:3]
        judged = _ancestors(nodes, key)
        assert f"artifact:{by_key[f'propose/idea/{t}/0/{j}'].artifact_id}" in judged
        assert f"call:propose/ideas/{t}/0" in judged
        assert f"call:propose/positive-case/{t}/0" in judged
    # A proposal waits on every idea's score (the screen decides which ideas become
    # proposals) ...
    proposals = [n for n in calls if n.key.startswith("propose/proposal/")]
    assert len(proposals) == 2
    for proposal in proposals:
        assert set(scores) <= _ancestors(nodes, proposal.id)
    # ... and the execution's first call on the selection, so on every proposal's judges
    # (validity and redundancy), which judged its revision, made after its critique.
    scope = _ancestors(nodes, "call:execute/scope/0")
    for proposal in proposals:
        for judge in ("validity", "redundancy", "revision", "critique"):
            suffix = proposal.key.removeprefix("propose/proposal/")
            key = f"propose/{judge}/{suffix}" + ("/0" if judge in ("revision", "critique") else "")
            assert f"call:{key}" in scope
    # Sandbox runs follow the plan that asked for them; the report follows the runs.
    runs = [n for n in graph if n.kind == "sandbox_run"]
    assert len(runs) == 2
    for run in runs:
        assert "call:execute/step/0.0/plan/0" in _ancestors(nodes, run.id)
        assert run.id in _ancestors(nodes, "call:execute/step/0.0/report")
    # Critic #1's call belongs to the step's check record and read the report.
    spirit = nodes["call:execute/step/0.0/critic/c1.spirit"]
    assert spirit.artifact_id == by_key["execute/step/0.0/check"].artifact_id
    assert "call:execute/step/0.0/report" in _ancestors(nodes, spirit.id)
    assert spirit.id in _ancestors(nodes, "call:execute/interpret/0")
    # The write-up follows the execution; each section the one below it.
    appendix = _ancestors(nodes, "call:writeup/appendix")
    assert {"call:execute/interpret/0", "call:execute/step/0.0/report"} <= appendix
    assert "call:writeup/abstract" in _ancestors(nodes, "call:writeup/critic-2/0/instance/0")

    # Critic #2's instances are asked side by side; the investigation follows them.
    investigate = _ancestors(nodes, "call:writeup/critic-2/0/investigate/0")
    assert {"call:writeup/critic-2/0/instance/0", "call:writeup/critic-2/0/instance/1"} <= (
        investigate
    )
    assert "call:writeup/critic-2/0/instance/0" not in _ancestors(
        nodes, "call:writeup/critic-2/0/instance/1"
    )

    # case, comparison, babble, idea score, proposal, its critique, its revision, a judge of it,
    # scope, plan, report, critic #1, interpretation, four sections, a critic-2 instance, the
    # investigation
    assert _most_calls(graph) == 19
    path = store.critical_path(summary.run.id)
    assert path.total_calls == CALLS and path.unattached_calls == 0
    assert 1 <= path.calls <= 19 and path.duration_s > 0
    chain = [f"call:{n.key}" if n.kind == "call" else f"artifact:{n.artifact_id}"
             for n in path.chain]
    for before, after in itertools.pairwise(chain):
        assert before in _ancestors(nodes, after)
    assert path.duration_s == pytest.approx(sum(n.duration_s for n in path.chain))


async def test_a_babble_asks_its_framings_concurrently(
    store: Store, team: tuple[Team, str]
) -> None:
    script, _ = team
    in_flight = peak = 0
    full = asyncio.Event()

    async def slow_ideas(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        nonlocal in_flight, peak
        output = info.model_request_parameters.output_object
        if output is not None and output.name == "IdeaList":
            # Each framing waits until all three are in flight (or gives up after 5 s): the
            # peak is then 3 however slowly the asks start, and 1 if they go one at a time.
            in_flight += 1
            peak = max(peak, in_flight)
            if in_flight >= 3:
                full.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(full.wait(), timeout=5)
            in_flight -= 1
        return script(messages, info)

    name = f"slow-ideas{next(_names)}"
    register_script(name, slow_ideas)
    two_topics = agenda(f"scripted:{name}", pipeline={"idea_framings": 3})
    one_topic = two_topics.model_copy(update={"topics": two_topics.topics[:1]})
    summary = await run_agenda(one_topic, store=store)

    assert summary.run.status == "completed", summary.run.stop_reason
    assert peak == 3
    assert script.count("IdeaList") == 3  # each framing asked once
