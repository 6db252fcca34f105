"""`Store.critical_path` on hand-built graphs: chains, diamonds, parallel calls, sandbox runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.store import CallWait, Store
from autoalign.vocabulary import Kind, Stage


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


class Graph:
    """Builds a run's artifacts and calls: `step(name, calls={key: latency}, parents=...)`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.run = store.create_run(name="g", agenda_digest="d", config={}).id
        self.ids: dict[str, int] = {}

    def call(self, key: str, latency: float) -> None:
        self.store.record_call(
            run_id=self.run, role="proposer", model="scripted:x", step_key=key, latency_s=latency
        )

    def step(
        self,
        name: str,
        *,
        calls: dict[str, float] | None = None,
        after: dict[str, tuple[str, ...]] | None = None,
        parents: tuple[str, ...] = (),
        sandbox_s: float | None = None,
    ) -> int:
        for key, latency in (calls or {}).items():
            self.call(key, latency)
        art = self.store.add_artifact(
            run_id=self.run,
            kind=Kind.SANDBOX_RUN if sandbox_s is not None else Kind.IDEA,
            stage=Stage.PROPOSE,
            step_key=name,
            content_json={"wall_s": sandbox_s} if sandbox_s is not None else {},
            parents=[self.ids[p] for p in parents],
            calls=[CallWait(call_key=k, after=(after or {}).get(k, ())) for k in calls or {}],
        )
        self.ids[name] = art.id
        return art.id


def test_a_chain_adds_up(store: Store) -> None:
    g = Graph(store)
    g.step("a", calls={"a": 1.0})
    g.step("r", parents=("a",))  # a record: passes the dependency on, weighs nothing
    g.step("b", calls={"b": 2.0}, parents=("r",))
    g.step("c", calls={"c": 3.0}, parents=("b",))

    path = store.critical_path(g.run)

    assert path.duration_s == pytest.approx(6.0)
    assert path.calls == 3 and path.sandbox_runs == 0
    assert [n.key for n in path.chain] == ["a", "b", "c"]
    assert path.total_calls == 3 and path.unattached_calls == 0


def test_a_diamond_takes_its_longer_side(store: Store) -> None:
    g = Graph(store)
    g.step("a", calls={"a": 1.0})
    g.step("b", calls={"b": 2.0}, parents=("a",))
    g.step("c", calls={"c": 5.0}, parents=("a",))
    g.step("d", calls={"d": 1.0}, parents=("b", "c"))

    path = store.critical_path(g.run)

    assert path.duration_s == pytest.approx(7.0)
    assert [n.key for n in path.chain] == ["a", "c", "d"]
    assert path.total_calls == 4


def test_parallel_calls_of_one_step_count_once_and_sequential_ones_add_up(store: Store) -> None:
    g = Graph(store)
    g.step("babble", calls={"babble#0": 1.0, "babble#1": 4.0, "babble#2": 2.0})
    assert store.critical_path(g.run).duration_s == pytest.approx(4.0)
    assert store.critical_path(g.run).calls == 1

    g.step(
        "check", calls={"check/x": 1.0, "check/y": 2.0, "check/z": 0.5},
        after={"check/y": ("check/x",), "check/z": ("check/x", "check/y")},
    )
    path = store.critical_path(g.run)
    assert path.duration_s == pytest.approx(4.0)  # the babble's 4 beats x + y + z = 3.5
    assert path.calls == 1
    g.step("last", calls={"last": 1.0}, parents=("check",))
    path = store.critical_path(g.run)
    assert path.duration_s == pytest.approx(4.5)
    assert [n.key for n in path.chain] == ["check/x", "check/y", "check/z", "last"]
    assert path.calls == 4


def test_sandbox_runs_count_by_their_recorded_wall_time(store: Store) -> None:
    g = Graph(store)
    g.step("plan", calls={"plan": 1.0})
    g.step("run/1", parents=("plan",), sandbox_s=2.5)
    g.step("run/2", parents=("plan",), sandbox_s=0.5)
    g.step("report", calls={"report": 1.0}, parents=("run/1", "run/2"))

    path = store.critical_path(g.run)

    assert path.duration_s == pytest.approx(4.5)
    assert path.calls == 2 and path.sandbox_runs == 1
    assert [(n.kind, n.key) for n in path.chain] == [
        ("call", "plan"), ("sandbox_run", "run/1"), ("call", "report")
    ]


def test_an_unattached_call_is_a_chain_of_its_own(store: Store) -> None:
    g = Graph(store)
    g.step("a", calls={"a": 1.0})
    g.call("interrupted", 10.0)

    path = store.critical_path(g.run)

    assert path.duration_s == pytest.approx(10.0)
    assert path.unattached_calls == 1 and path.total_calls == 2


def test_an_empty_run_has_an_empty_path(store: Store) -> None:
    run = store.create_run(name="e", agenda_digest="e", config={}).id
    path = store.critical_path(run)
    assert path.duration_s == 0.0 and path.calls == 0 and path.chain == ()


def test_the_graph_lists_each_nodes_dependencies(store: Store) -> None:
    g = Graph(store)
    a = g.step("a", calls={"a#0": 1.0, "a#1": 1.0})
    b = g.step("b", calls={"b": 1.0}, parents=("a",))

    nodes = {n.id: n for n in store.dependency_graph(g.run)}

    assert nodes["call:a#0"].deps == () and nodes["call:a#1"].deps == ()
    assert set(nodes[f"artifact:{a}"].deps) == {"call:a#0", "call:a#1"}
    assert nodes["call:b"].deps == (f"artifact:{a}",)
    assert nodes[f"artifact:{b}"].deps == (f"artifact:{a}", "call:b")
