"""Experiments: testbed questions answered by sandboxed runs, stored with their provenance.

This package sits above three lower layers and joins them: `testbeds` (pure, low-level
experiments that know nothing of storage or isolation), `sandbox` (runs code and specs isolated,
and describes each run, but stores nothing) and `store` (the research database). It is not a
pipeline stage: a study runs without any model in the loop, and the pipeline's execute stage can
use it (and `record_sandbox_run`) under its own stage name. Putting it inside `testbeds` would
make that package depend on the sandbox, which itself runs testbeds.

    from autoalign.experiments import run_study

    run_study(store, testbeds=["reward_hacking"], seeds=5, backend=backend, limits=limits)

`QueueBackend` is a sandbox backend whose jobs run on `autoalign worker` processes sharing the
research database (`docs/scaling.md`).
"""

from ._queue import QueueBackend, job_from_payload, job_key, job_payload, run_sandbox_item
from ._records import SANDBOX_RUN_KIND, record_sandbox_run
from ._study import (
    P_FLOOR,
    STAGE,
    StudyResult,
    StudyRun,
    probability_yes,
    run_study,
    study_questions,
)

__all__ = [
    "P_FLOOR",
    "SANDBOX_RUN_KIND",
    "STAGE",
    "QueueBackend",
    "StudyResult",
    "StudyRun",
    "job_from_payload",
    "job_key",
    "job_payload",
    "probability_yes",
    "record_sandbox_run",
    "run_sandbox_item",
    "run_study",
    "study_questions",
]
