"""A hand-built provenance DAG with a review request, shared by the review and CLI tests."""

from __future__ import annotations

from dataclasses import dataclass

from autoalign.store import Store
from autoalign.vocabulary import Kind, Relation, Stage


@dataclass(frozen=True)
class Dag:
    """Artifact ids by name, and the review request about `paper`.

    ```
    topic ─► log_a ─► step_c ─┐
       │        └──► mixed_d ─┴─► paper
       └──► log_b ─┘
              └────► other_f          lone (unconnected)
    ```
    (arrows point from parent to child.) `flaw` is a critical flaw on `log_a`, found by `c2.x`.
    """

    ids: dict[str, int]
    request: int
    flaw: int

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def build_dag(store: Store, *, text: str = "a paper") -> Dag:
    """Store the DAG above (run-less artifacts) and a review request about the paper."""
    ids: dict[str, int] = {}

    def add(name: str, kind: Kind, *parents: str) -> None:
        art = store.add_artifact(
            run_id=None, kind=kind, stage=Stage.EXECUTE, content_text=f"{name}: {text}",
            title=name, parents=[(ids[p], Relation.DERIVED_FROM) for p in parents],
        )
        ids[name] = art.id

    add("topic", Kind.TOPIC)
    add("log_a", Kind.STEP_LOG, "topic")
    add("log_b", Kind.STEP_LOG, "topic")
    add("step_c", Kind.STEP_REPORT, "log_a")
    add("mixed_d", Kind.SANDBOX_RUN, "log_a", "log_b")
    add("paper", Kind.PAPER, "step_c", "mixed_d")
    add("other_f", Kind.STEP_REPORT, "log_b")
    add("lone", Kind.TOPIC)
    flaw = store.add_flaw(artifact_id=ids["log_a"], category="method_flaw", severity="critical",
                          description="the control arm is missing", critic="c2.x",
                          critic_version="3")
    request = store.add_review_request(artifact_id=ids["paper"], reason="critic-2 escalated")
    return Dag(ids=ids, request=request, flaw=flaw.id)
