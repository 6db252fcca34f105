"""The critic registry: declarations are validated when a critic registers."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

from autoalign.critics import (
    Critic,
    CriticContext,
    CriticKind,
    CriticScale,
    ExecutedStep,
    Finding,
    PaperDraft,
    ProgrammaticCritic,
    _protocol,
    get_critic,
    list_critics,
    register_critic,
)
from autoalign.errors import ConfigError


@pytest.fixture(autouse=True)
def _restore_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_protocol, "_REGISTRY", dict(_protocol._REGISTRY))


def _critic(**attrs: object) -> type:
    async def check(self: object, step: ExecutedStep, *, context: CriticContext) -> list[Finding]:
        return []

    base: dict[str, object] = {"id": "t.example", "version": "1", "kind": "programmatic",
                               "checks": ("research_log",), "description": "flags nothing",
                               "check": check}
    base.update(attrs)
    return type("Example", (), base)


def test_a_valid_critic_registers_and_is_listed_by_kind() -> None:
    cls = register_critic(_critic())
    critic = get_critic("t.example")
    assert isinstance(critic, cls) and isinstance(critic, Critic)
    assert "t.example" in [c.id for c in list_critics(kind="programmatic")]
    assert "t.example" not in [c.id for c in list_critics(kind="llm")]


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"id": "Bad Id"}, "needs an id"),
        ({"id": None}, "needs an id"),
        ({"version": "v1"}, "needs a version"),
        ({"version": 1}, "needs a version"),
        ({"kind": "heuristic"}, "has kind 'heuristic'"),
        ({"checks": ()}, "artifact kinds it checks"),
        ({"checks": "research_log"}, "artifact kinds it checks"),
        ({"description": "  "}, "description"),
        ({"check": None}, "async check"),
        ({"check": lambda self, step, *, context: []}, "async check"),
    ],
)
def test_malformed_declarations_are_refused(attrs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        register_critic(_critic(**attrs))
    assert "t.example" not in _protocol._REGISTRY


def test_an_id_can_be_registered_once() -> None:
    register_critic(_critic())
    with pytest.raises(ConfigError, match="taken by Example"):
        register_critic(_critic())


def test_unknown_critic_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown critic .nope.; known: .*c1\.numbers-match"):
        get_critic("nope")


def test_every_builtin_critic_has_a_kind_and_programmatic_ones_are_rules() -> None:
    kinds: dict[str, CriticKind] = {c.id: c.kind for c in list_critics()}
    assert kinds["c1.spirit"] == "llm"
    assert [k for k in kinds.values() if k == "programmatic"] == ["programmatic"] * 8
    assert {n for n, k in kinds.items() if k == "programmatic" and n.startswith("c1.")} == {
        "c1.numbers-match", "c1.results-produced", "c1.code-integrity", "c1.claim-evidence",
        "c1.question-scope",
    }
    for critic in list_critics(kind="programmatic"):
        assert isinstance(critic, ProgrammaticCritic)


class _Declared(ProgrammaticCritic):
    id: ClassVar[str] = "t.declared"
    version: ClassVar[str] = "2.1"
    checks: ClassVar[tuple[str, ...]] = ("sandbox_run",)
    description: ClassVar[str] = "flags nothing"

    def rule(self, step: ExecutedStep) -> list[Finding]:
        return []


async def test_a_programmatic_critic_subclass_checks_through_its_rule() -> None:
    register_critic(_Declared)
    from autoalign.critics.known_answers import clean_step

    critic = get_critic("t.declared")
    assert (critic.kind, critic.version) == ("programmatic", "2.1")
    assert await critic.check(clean_step(), context=CriticContext()) == []


def test_the_scale_is_inferred_from_the_checked_subject_or_declared() -> None:
    register_critic(_critic())
    assert get_critic("t.example").scale == CriticScale.STEP

    async def check(self: object, paper: PaperDraft, *, context: CriticContext) -> list[Finding]:
        return []

    register_critic(_critic(id="t.paper", check=check))
    assert get_critic("t.paper", scale=CriticScale.PAPER).scale == CriticScale.PAPER
    assert "t.paper" in [c.id for c in list_critics(scale=CriticScale.PAPER)]
    assert "t.paper" not in [c.id for c in list_critics(scale=CriticScale.STEP)]


def test_a_scale_that_does_not_match_the_subject_or_is_unknown_is_refused() -> None:
    with pytest.raises(ConfigError, match=re.escape(
            "scale paper (it checks PaperDraft) but its check takes ExecutedStep")):
        register_critic(_critic(scale=CriticScale.PAPER))
    with pytest.raises(ConfigError, match="has scale 'paper'; expected one of step, paper"):
        register_critic(_critic(scale="paper"))

    async def check(self: object, subject: str, *, context: CriticContext) -> list[Finding]:
        return []

    with pytest.raises(ConfigError, match="must declare its scale"):
        register_critic(_critic(check=check))
    assert "t.example" not in _protocol._REGISTRY


def test_every_builtin_critic_belongs_to_critic_1_or_critic_2() -> None:
    scales = {c.id: c.scale for c in list_critics()}
    assert {n for n, s in scales.items() if s == CriticScale.PAPER} == {
        "c2.review", "c2.numbers-match", "c2.claim-strength", "c2.abstract-scope", "c2.babble",
        "c2.investigate",
    }
    assert all(s == CriticScale.STEP for n, s in scales.items() if n.startswith("c1."))
    assert (CriticScale.STEP.label, CriticScale.STEP.stage) == ("critic #1", "execute")
    assert (CriticScale.PAPER.label, CriticScale.PAPER.stage) == ("critic #2", "writeup")
    assert CriticScale.PAPER.subject is PaperDraft and CriticScale.STEP.subject is ExecutedStep
