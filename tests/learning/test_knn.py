"""The nearest-neighbour critic: what it flags, where, and the versions its fits record."""

from __future__ import annotations

import asyncio

from autoalign.learning import KNN_VERSION, FlawExample, KnnCritic, collect_labels, fit_knn
from autoalign.redteam import builtin_subjects, inject, parse_config, run_experiment, strict_match
from autoalign.store import Store
from autoalign.vocabulary import UpdateKind


def test_it_flags_a_variant_of_a_labelled_flaw_where_the_strict_matcher_looks() -> None:
    step = next(c for c in builtin_subjects() if c.key == "builtin:step")
    made = [got for s in range(50)
            if (got := inject("hallucinated-reference", step.subject, seed=s)) is not None]
    seen = next(m for m in made if "agrees with run" in m.change.after)
    other = next(m for m in made
                 if m.change.after != seen.change.after and "agrees with run" in m.change.after)
    critic = KnnCritic(id="knn", version="1", examples=(FlawExample(
        flaw_type="hallucinated-reference", text=seen.change.after, label_id=1, source_ref="x"),))
    found = critic.findings(other.subject)
    assert strict_match(other.change, found, clean=step.subject)
    # not on the clean subjects
    assert all(critic.findings(c.subject) == [] for c in builtin_subjects())
    # and nothing at all before it has an example
    assert KnnCritic(id="knn", version="1", examples=()).findings(other.subject) == []


def test_fits_record_a_version_only_when_the_examples_change(store: Store) -> None:
    config = parse_config({"name": "k", "critics": ["c1.code-integrity", "c2.numbers-match"],
                           "flaw_types": ["tests-edited", "number-differs-from-log"],
                           "injections_per_type": 2, "controls": 1})
    asyncio.run(run_experiment(store, config))
    collect_labels(store)
    labels = store.labels()
    first = fit_knn(store, critic="knn.t", labels=labels)
    assert first.version == f"{KNN_VERSION}+{UpdateKind.FLAW_LIBRARY.value}.1"
    # the changed numbers give no wording to learn: only the edited tests are examples
    assert {e.flaw_type for e in first.examples} == {"tests-edited"}
    again = fit_knn(store, critic="knn.t", labels=labels)
    assert again.version == first.version
    rows = store.critic_versions(critic="knn.t")
    assert len(rows) == 1 and rows[0].params["entries"] == len(first.examples)
    assert rows[0].params["last_label_id"] == max(r.id for r in labels)
    assert fit_knn(store, critic="knn.t", labels=[]).version == KNN_VERSION
