"""Which testbeds and questions a project may use, and the output types bound to them.

A topic names its testbeds (and optionally its questions) in the agenda; a project inherits its
topic's. The model-facing output types of the execution stage name testbeds, interventions,
knobs and questions as enumerations of exactly those, so even the embedded 270M model, whose
decoding is constrained to the schema, writes names that exist. Knob values and seeds stay free:
the sandbox checks them, and a plan it rejects is asked again with its error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, cast

from pydantic import Field, create_model

from ..agenda import Agenda, Topic
from ..errors import ConfigError
from ..testbeds import Question, Testbed, get_testbed, list_testbeds
from ._schemas import (
    Answer,
    ArmSpec,
    CandidateStep,
    ExperimentPlan,
    KnobSetting,
    ScopePlan,
    Seed,
    StepReport,
)


@dataclass(frozen=True)
class Catalog:
    """The testbeds and questions one project may use."""

    testbeds: tuple[str, ...]
    """Testbed names, sorted."""
    questions: tuple[str, ...]
    """Question references `testbed/question_id`, in testbed then declaration order."""

    def testbed(self, name: str) -> Testbed:
        """The catalogue's testbed `name` (from the registry)."""
        return get_testbed(name)

    def question(self, ref: str) -> tuple[str, Question]:
        """(testbed name, question) for a reference `testbed/question_id`.

        Raises:
            ConfigError: the reference is not in the catalogue.
        """
        if ref not in self.questions:
            raise ConfigError(f"question {ref!r} is not among this project's questions")
        name, _, qid = ref.partition("/")
        return name, get_testbed(name).question(qid)

    def describe(self) -> str:
        """The catalogue as text for a prompt: each testbed's knobs, interventions, metrics and
        the project's questions on it (what the worker's tools would also tell)."""
        parts = []
        for name in self.testbeds:
            bed = get_testbed(name)
            knobs = "; ".join(f"{k.name} ({k.type_text}, default {k.default})" for k in bed.knobs)
            lines = [
                f"testbed {name}: {bed.description}",
                f"  knobs: {knobs}",
                "  interventions: " + "; ".join(f"{i.name}: {i.doc}" for i in bed.interventions),
                "  metrics: " + "; ".join(m.name for m in bed.metrics),
            ]
            for ref in self.questions:
                if ref.startswith(name + "/"):
                    q = get_testbed(name).question(ref.partition("/")[2])
                    lines.append(f"  question {ref}: {q.text}")
            parts.append("\n".join(lines))
        return "\n".join(parts)


def topic_catalog(topic: Topic) -> Catalog:
    """The testbeds and questions `topic` maps to (every registered one when it names none).

    Raises:
        ConfigError: a testbed or question the topic names does not exist.
    """
    names = sorted(set(topic.testbeds)) if topic.testbeds else [t.name for t in list_testbeds()]
    for name in names:
        try:
            get_testbed(name)
        except ConfigError as exc:  # the message names the known testbeds
            raise ConfigError(exc.reason, field="testbeds") from None
    refs: list[str] = []
    if topic.questions:
        for ref in topic.questions:
            name, sep, qid = ref.partition("/")
            if not sep or name not in names:
                raise ConfigError(
                    f"question {ref!r} must be written testbed/question_id, with a testbed of "
                    f"this topic ({', '.join(names)})", field="questions",
                )
            try:
                get_testbed(name).question(qid)
            except ConfigError as exc:
                raise ConfigError(exc.reason, field="questions") from None
            if ref not in refs:
                refs.append(ref)
    else:
        refs = [f"{name}/{q.id}" for name in names for q in get_testbed(name).questions]
    return Catalog(testbeds=tuple(names), questions=tuple(refs))


def check_catalogs(agenda: Agenda) -> None:
    """Check every topic's testbeds and questions before a run writes anything.

    Raises:
        ConfigError: naming the topic's field and what is wrong.
    """
    for i, topic in enumerate(agenda.topics):
        try:
            topic_catalog(topic)
        except ConfigError as exc:
            raise ConfigError(exc.reason, field=f"topics[{i}].{exc.field}") from None


def _enum(values: tuple[str, ...]) -> Any:
    """`Literal[values]`, built at run time (the values come from the registry)."""
    return cast(Any, Literal).__getitem__(values)


def _knob_settings(beds: list[Testbed]) -> Any:
    """A union with one setting type per knob: its name, and a value of its type and range.

    So a schema-constrained model writes a number in range for a numeric knob, true or false
    for a flag, one of the choices for a choice; the sandbox still checks every spec (a knob of
    another testbed, an integer knob given 2.5).
    """
    variants: dict[tuple[str, str], Any] = {}
    for bed in beds:
        for knob in bed.knobs:
            value: Any
            if knob.kind == "float":
                value = Annotated[float, Field(ge=knob.low, le=knob.high)]
            elif knob.kind == "int":
                value = Annotated[int, Field(ge=int(knob.low or 0), le=int(knob.high or 0))]
            elif knob.kind == "bool":
                value = bool
            else:
                value = _enum(knob.choices)
            key = (knob.name, repr(value))
            if key not in variants:
                variants[key] = create_model(
                    f"Set_{knob.name}_{len(variants)}", __base__=KnobSetting,
                    knob=(_enum((knob.name,)), ...), value=(value, ...),
                )
    return Union[tuple(variants.values())]  # noqa: UP007  (built at run time)


@dataclass(frozen=True)
class Schemas:
    """The execution stage's output types, bound to one catalogue and budget.

    Each is a subclass of the static type of the same name in `_schemas`, so code reads them
    with full typing, and scripted models (which answer by type name) see the usual names.
    """

    scope: type[ScopePlan]
    plan: type[ExperimentPlan]
    report: type[StepReport]
    """A step's report; its answers may be none."""
    answering: type[StepReport]
    """The report of a step scoped to a testbed question: at least one answer."""


@cache
def schemas_for(
    catalog: Catalog, *, candidates: int, run_now: int, max_arms: int, max_seeds: int
) -> Schemas:
    """The output types for `catalog`: testbeds, interventions, knobs and questions enumerated,
    and every list bounded by the agenda's `[execution]` numbers (a model that may write ten
    candidates writes ten, and a small one runs out of tokens on the way).

    Cached, so a resumed stage reads its stored outputs back with the types that wrote them.
    """
    beds = [get_testbed(n) for n in catalog.testbeds]
    testbed = _enum(catalog.testbeds)
    interventions = tuple(sorted({i.name for b in beds for i in b.interventions}))
    knobs = tuple(sorted({k.name for b in beds for k in b.knobs}))
    questions = catalog.questions or ("none",)
    candidate = create_model(
        "CandidateStep", __base__=CandidateStep,
        testbed=(testbed | None, Field(default=None)),
        question=(_enum(questions) | None, Field(default=None)),
    )
    scope = create_model(
        "ScopePlan", __base__=ScopePlan,
        candidates=(list[candidate], Field(min_length=1, max_length=candidates)),
        run_now=(list[int], Field(min_length=1, max_length=run_now)),
    )
    setting = _knob_settings(beds) if knobs else KnobSetting
    arm = create_model(
        "ArmSpec", __base__=ArmSpec,
        testbed=(testbed, ...),
        intervention=(_enum(interventions) | None, Field(default=None)) if interventions
        else (None, None),
        settings=(list[setting], Field(default_factory=list, max_length=3)),  # type: ignore[valid-type]
        seeds=(list[Seed], Field(min_length=1, max_length=max_seeds)),
    )
    plan = create_model(
        "ExperimentPlan", __base__=ExperimentPlan,
        arms=(list[arm], Field(min_length=1, max_length=max_arms)),
    )
    answer = create_model("Answer", __base__=Answer, question=(_enum(questions), ...))
    report = create_model(
        "StepReport", __base__=StepReport,
        answers=(list[answer], Field(default_factory=list, max_length=2)),
    )
    # A step scoped to a question must answer it (with whatever confidence the runs justify).
    answering = create_model(
        "StepReport", __base__=StepReport,
        answers=(list[answer], Field(min_length=1, max_length=2)),
    )
    return Schemas(
        scope=cast(type[ScopePlan], scope),
        plan=cast(type[ExperimentPlan], plan),
        report=cast(type[StepReport], report),
        answering=cast(type[StepReport], answering),
    )
