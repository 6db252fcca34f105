"""Walks from many roots in one query agree with one walk per root."""

from __future__ import annotations

from autoalign.store import Store
from autoalign.vocabulary import Kind, Stage


def test_many_walks_in_one_query_agree_with_one_walk_each(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})

    def add(*parents: int) -> int:
        return store.add_artifact(run_id=run.id, kind=Kind.IDEA, stage=Stage.PROPOSE,
                                  parents=list(parents)).id

    # a diamond with a tail: a -> b, a -> c, b/c -> d, d -> e; and a loner f
    a = add()
    b, c = add(a), add(a)
    d = add(b, c)
    e, f = add(d), add()
    store.add_flaw(artifact_id=a, category="overclaiming", severity="major", description="x")
    store.add_flaw(artifact_id=d, category="overclaiming", severity="critical", description="y")
    store.add_flaw(artifact_id=e, category="overclaiming", severity="minor", description="z")
    roots = [a, b, d, e, f]
    assert store.count_descendants_of(roots) == {
        r: store.count_descendants(r) for r in roots
    } == {a: 4, b: 2, d: 1, e: 0, f: 0}
    severities = store.context_severities(roots)
    for r in roots:
        one = [x.severity for x in store.flaws(artifact_ids=[r, *store.ancestors(r)])]
        assert sorted(severities[r]) == sorted(one), r
    assert sorted(severities[e]) == ["critical", "major", "minor"] and severities[f] == []
