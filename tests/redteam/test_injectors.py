"""Every injector changes exactly what it records, deterministically, and never fakes a flaw it
cannot put into a subject."""

from __future__ import annotations

import random

import pytest

from autoalign.critics import FlawCategory
from autoalign.critics._taxonomy import TAXONOMY_VERSION
from autoalign.redteam import (
    FLAW_TYPES,
    FlawEdit,
    apply_edit,
    builtin_subjects,
    changed_paths,
    clean_corpus,
    flaw_type,
    get_injector,
    inject,
    missing_injectors,
    within,
)
from autoalign.redteam._change import get_path
from autoalign.redteam._subjects import CleanSubject

SEEDS = range(12)


def _made(type_id: str) -> list[tuple[CleanSubject, int]]:
    return [(c, s) for c in builtin_subjects() for s in SEEDS
            if inject(type_id, c.subject, seed=s) is not None]


def test_taxonomy_5_has_every_issue_type_with_a_category() -> None:
    assert TAXONOMY_VERSION == "5"
    by_where: dict[str, int] = {}
    for t in FLAW_TYPES:
        by_where[t.where] = by_where.get(t.where, 0) + 1
        assert isinstance(t.category, FlawCategory)
    assert by_where == {"execution": 8, "paper": 7, "corpus": 3}
    assert flaw_type("wrong-direction").category == FlawCategory.WRONG_DIRECTION
    assert missing_injectors() == []


@pytest.mark.parametrize("type_id", [t.id for t in FLAW_TYPES])
def test_injector_changes_exactly_what_it_records(type_id: str) -> None:
    made = _made(type_id)
    assert made, f"{type_id} applies to no built-in subject"
    ft = flaw_type(type_id)
    for clean, seed in made:
        result = inject(type_id, clean.subject, seed=seed)
        assert result is not None
        change = result.change
        assert (change.flaw_type, change.where, change.method) == (ft.id, ft.where,
                                                                   "programmatic")
        assert clean.where == ft.where
        paths = changed_paths(clean.subject, result.subject)
        assert paths, f"{type_id} changed nothing"
        assert all(within(p, change.field) for p in paths), (change.field, paths)
        if change.span is not None:  # a text field: exactly the span was replaced
            start, end = change.span
            before = get_path(clean.subject.model_dump(), change.field)
            after = get_path(result.subject.model_dump(), change.field)
            assert before[start:end] == change.before
            assert after == before[:start] + change.after + before[end:]
        assert change.description


@pytest.mark.parametrize("type_id", [t.id for t in FLAW_TYPES])
def test_injection_is_deterministic_given_the_seed(type_id: str) -> None:
    for clean, seed in _made(type_id)[:4]:
        first = inject(type_id, clean.subject, seed=seed)
        again = inject(type_id, clean.subject, seed=seed)
        assert first is not None and again is not None
        assert first.change == again.change
        assert first.subject == again.subject


@pytest.mark.parametrize("type_id", [t.id for t in FLAW_TYPES])
def test_injector_says_none_for_a_subject_it_cannot_tamper_with(type_id: str) -> None:
    ft = flaw_type(type_id)
    others = [c for c in builtin_subjects() if c.where != ft.where]
    for clean in others:
        assert get_injector(type_id)(clean.subject, random.Random(0)) is None


def test_code_flaws_need_code_and_say_so() -> None:
    spec_step = next(c for c in builtin_subjects() if c.key == "builtin:step")
    for type_id in ("tests-edited", "special-cased-output", "swallowed-error",
                    "train-test-overlap"):
        assert all(inject(type_id, spec_step.subject, seed=s) is None for s in SEEDS)


def test_llm_edit_is_applied_only_where_it_says() -> None:
    paper = next(c for c in builtin_subjects() if c.where == "paper").subject
    ft = flaw_type("overbroad-claim")
    good = apply_edit(ft, paper, FlawEdit(
        field="sections.2.text", quote="The repeat penalty cuts hacking.",
        replacement="The repeat penalty cuts hacking everywhere.", description="broadened"))
    assert good is not None
    assert good.change.method == "llm"
    assert changed_paths(paper, good.subject) == {"sections.2.text"}
    assert good.change.before == "The repeat penalty cuts hacking."
    assert good.change.artifact_id == paper.sections[2].artifact_id


@pytest.mark.parametrize(("field", "quote", "replacement"), [
    ("sections.9.text", "", "x"),  # not a field offered
    ("sections.2.text", "not in the text", "x"),  # quote absent
    ("sections.2.text", "0.", "x"),  # quote not unique
    ("sections.2.text", "Results", "Results"),  # no change
    ("paper_id", "", "1"),  # not a text field
])
def test_invalid_llm_edits_are_refused(field: str, quote: str, replacement: str) -> None:
    paper = next(c for c in builtin_subjects() if c.where == "paper").subject
    edit = FlawEdit(field=field, quote=quote, replacement=replacement, description="d")
    assert apply_edit(flaw_type("overbroad-claim"), paper, edit) is None


def test_corpus_injections_keep_the_other_papers() -> None:
    corpus = clean_corpus()
    result = inject("shared-ancestor-support", corpus, seed=0)
    assert result is not None
    changed = {p.split(".")[1] for p in changed_paths(corpus, result.subject)}
    assert len(changed) == 1  # one paper's ancestors
