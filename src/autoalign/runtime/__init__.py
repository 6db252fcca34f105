"""The runtime stages and critics plug into: steps, idempotency, hooks and the stage registry.

A stage calls `StageContext.step` (ask a role), `babble` (several framings of one ask) and
`record` (an artifact derived without a model); each returns a `StepResult` with the stored
artifact and the typed output. Stages register with `@stage(name, order=, inputs=)`, their
inputs being a store query. Hooks registered on `Hooks` see every step before and after.
"""

from ._context import (
    ClaimNote,
    Findings,
    FindingsOf,
    FlawLike,
    NothingToDoError,
    StageContext,
    StatusChange,
    StepCalls,
    StepFailedError,
    StepResult,
    Verdict,
    fan_out,
    fan_out2,
)
from ._hooks import HookChange, Hooks, PostStepHook, PreStepHook, StepInfo
from ._progress import NullProgress, ProgressSink
from ._registry import (
    StageSpec,
    get_stage,
    registered_stages,
    run_stage,
    stage,
    stage_registry,
)

__all__ = [
    "ClaimNote",
    "Findings",
    "FindingsOf",
    "FlawLike",
    "HookChange",
    "Hooks",
    "NothingToDoError",
    "NullProgress",
    "PostStepHook",
    "PreStepHook",
    "ProgressSink",
    "StageContext",
    "StageSpec",
    "StatusChange",
    "StepCalls",
    "StepFailedError",
    "StepInfo",
    "StepResult",
    "Verdict",
    "fan_out",
    "fan_out2",
    "get_stage",
    "registered_stages",
    "run_stage",
    "stage",
    "stage_registry",
]
