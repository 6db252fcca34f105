"""How code running in the sandbox hands its experiment result back.

Worker-written code ends with::

    from autoalign.sandbox.report import report
    report(result)   # an ExperimentResult, or a dict of the same shape

`report` validates the record against `autoalign.testbeds.ExperimentResult` (the record a spec run
produces too, so both ways to experiment give the same record) and writes it as JSON where the
sandbox runner reads it back. Outside the sandbox it writes `result.json` in the current folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ._protocol import RESULT_ENV, RESULT_FILE

if TYPE_CHECKING:
    from autoalign.testbeds import ExperimentResult

__all__ = ["report"]


def report(result: ExperimentResult | Mapping[str, Any]) -> Path:
    """Validate `result` as an experiment result record and write it for the sandbox runner.

    Calling it again replaces the earlier record: the last report is the run's result.

    Args:
        result: an `ExperimentResult`, or a mapping with its fields (`spec`, `per_seed`, `mean`,
            `se`, `seconds`), which is validated into one.

    Returns:
        The path of the JSON file written.

    Raises:
        pydantic.ValidationError: `result` is not a valid experiment result record.
    """
    from autoalign.testbeds import ExperimentResult

    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else dict(result)
    record = ExperimentResult.model_validate(data)
    path = Path(os.environ.get(RESULT_ENV) or RESULT_FILE)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(record.model_dump_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path
