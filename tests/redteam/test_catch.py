"""Each programmatic critic on its own flaw type's programmatic injections, as measured.

The counts are what the critics caught on the distinct injections of seeds 0-39 into the
built-in subjects when the injectors were written (they are measurements, not targets): a
change to an injector or a critic that moves them should be looked at, not tuned away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from autoalign.critics import Finding, ProgrammaticCritic, get_critic
from autoalign.redteam import builtin_subjects, corpus_evidence, flaw_type, inject, strict_match


def _rule(name: str) -> Callable[[Any], list[Finding]]:
    critic = get_critic(name)
    assert isinstance(critic, ProgrammaticCritic)
    return critic.rule


MEASURED = [
    # (flaw type, clean subject, critic, caught, distinct injections)
    ("tests-edited", "builtin:code-step", "c1.code-integrity", 1, 2),
    ("special-cased-output", "builtin:code-step", "c1.code-integrity", 3, 3),
    ("swallowed-error", "builtin:code-step", "c1.code-integrity", 2, 2),
    ("unproduced-result", "builtin:step", "c1.results-produced", 40, 40),
    ("code-never-run", "builtin:step", "c1.results-produced", 31, 31),
    ("number-differs-from-log", "builtin:paper", "c2.numbers-match", 26, 31),
    ("abstract-exceeds-main", "builtin:paper", "c2.abstract-scope", 8, 9),
    ("shared-ancestor-support", "builtin:corpus", "c3.evidence", 5, 5),
    ("finding-counted-twice", "builtin:corpus", "c3.evidence", 1, 3),
]


@pytest.mark.parametrize(("type_id", "clean_key", "critic", "caught", "n"), MEASURED)
def test_programmatic_critic_catches_its_types_injections(
    type_id: str, clean_key: str, critic: str, caught: int, n: int,
) -> None:
    clean = next(c for c in builtin_subjects() if c.key == clean_key)
    distinct = {}
    for seed in range(40):
        made = inject(type_id, clean.subject, seed=seed)
        if made is not None:
            distinct.setdefault(made.subject.model_dump_json(), made)
    hits = 0
    for made in distinct.values():
        if critic == "c3.evidence":
            findings = corpus_evidence(made.subject)
        else:
            findings = _rule(critic)(made.subject)
        hits += strict_match(made.change, findings, clean=clean.subject)
    assert (hits, len(distinct)) == (caught, n)
    assert flaw_type(type_id).category.value  # the matched category is the type's


STEP_CRITICS = ("c1.numbers-match", "c1.results-produced", "c1.code-integrity",
                "c1.claim-evidence", "c1.question-scope")
PAPER_CRITICS = ("c2.numbers-match", "c2.claim-strength", "c2.abstract-scope")


def test_the_clean_subjects_raise_no_finding_of_the_programmatic_critics() -> None:
    for clean in builtin_subjects():
        if clean.where == "corpus":
            assert corpus_evidence(clean.subject) == []
            continue
        names = (STEP_CRITICS if clean.where == "execution" else PAPER_CRITICS)
        for name in names:
            assert _rule(name)(clean.subject) == [], (clean.key, name)


def test_a_finding_elsewhere_does_not_match() -> None:
    clean = next(c for c in builtin_subjects() if c.key == "builtin:code-step")
    swallowed = inject("swallowed-error", clean.subject, seed=0)
    assert swallowed is not None
    other = inject("unproduced-result", clean.subject, seed=0)
    assert other is not None
    findings = _rule("c1.results-produced")(other.subject)
    assert findings
    assert not strict_match(swallowed.change, findings, clean=clean.subject)
