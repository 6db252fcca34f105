"""The stage registry: each stage registers itself, with its inputs declared as a store query.

A stage is an async function `run(ctx, inputs)`. Its `inputs` is a function of the context that
reads what the stage needs from the store (e.g. "the selected proposal of this run"), never
another stage's in-memory records; so any stage can run alone, resume, or run again from what
the store holds. The orchestrator runs the registered stages in `order`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..vocabulary import Stage
from ._context import StageContext

I = TypeVar("I")  # noqa: E741  (the conventional name for a stage's inputs)

StageRun = Callable[[StageContext, I], Awaitable[object]]
InputQuery = Callable[[StageContext], I]


@dataclass(frozen=True, kw_only=True)
class StageSpec(Generic[I]):
    """A registered stage."""

    name: Stage
    order: int
    """Position in a run; stages run in ascending order."""
    inputs: InputQuery[I]
    """Reads the stage's inputs from the store; raises `NothingToDoError` when there are none."""
    run: StageRun[I]
    doc: str
    """What the stage does (its function's first docstring line)."""


stage_registry: dict[Stage, StageSpec[Any]] = {}
"""Every registered stage by name; use `registered_stages()` for run order."""


def stage(
    name: Stage, *, order: int, inputs: InputQuery[I]
) -> Callable[[StageRun[I]], StageRun[I]]:
    """Register a stage function under `name`, to run at `order` with `inputs` read first.

    Raises:
        ValueError: the name or the order is taken by another stage, or the name is not a
            `Stage` (checked at registration, i.e. at import).
    """

    def register(run: StageRun[I]) -> StageRun[I]:
        if not isinstance(name, Stage):
            raise ValueError(f"stage name {name!r} is not a Stage; add it to vocabulary.Stage")
        ident = f"{run.__module__}.{run.__qualname__}"
        for other in stage_registry.values():
            same = f"{other.run.__module__}.{other.run.__qualname__}" == ident
            if other.name == name and not same:
                raise ValueError(
                    f"stage '{name}' is already registered by {other.run.__module__}"
                )
            if other.order == order and other.name != name:
                raise ValueError(
                    f"stage '{name}' wants order {order}, which stage '{other.name}' has"
                )
        doc = (run.__doc__ or "").strip().splitlines()
        stage_registry[name] = StageSpec(
            name=name, order=order, inputs=inputs, run=run, doc=doc[0] if doc else ""
        )
        return run

    return register


def registered_stages() -> list[StageSpec[Any]]:
    """The registered stages in run order."""
    return sorted(stage_registry.values(), key=lambda spec: spec.order)


def get_stage(name: str) -> StageSpec[Any]:
    """The stage registered as `name`.

    Raises:
        KeyError: no such stage (the message lists the known ones).
    """
    for spec in stage_registry.values():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in registered_stages())
    raise KeyError(f"no stage {name!r}; the stages are: {known}")


async def run_stage(ctx: StageContext, spec: StageSpec[I]) -> None:
    """Read a stage's inputs from the store, then run it."""
    await spec.run(ctx, spec.inputs(ctx))
