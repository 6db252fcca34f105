"""The "summary" view of a red-team subject, for the A/B test of how much critics lose when they
see only what an erasure keeps: the same subject with its detailed logs replaced by their
summaries, made by the same function the erasure uses (`_erasure_summary.summarize`).

- `ExecutedStep`: each sandbox run becomes the run its summary keeps (no stdout, stderr or file
  list; the result's means, standard errors and spec, no per-seed metrics); the log keeps its
  rows of means only; the worker's code becomes the text of its summary (lines, imports,
  definitions). The task, interpretation and claims are not detailed logs and stay.
- `PaperDraft`: the numbers read from step logs keep only the means (what an erased step log
  keeps); the seeds behind each claim are counted by the summary too, so they stay. The paper's
  sections, its research log and the numbers of imported logs are not erased and stay.
- Any other subject is returned unchanged.

Pure functions: nothing is read from or written to a database.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..critics import ExecutedStep, LogRow, PaperDraft, StepRun, WorkerCode
from ..sandbox import SandboxRun
from ..vocabulary import Kind
from ._erasure_summary import render_summary, summarize

S = TypeVar("S")


def sandbox_from_summary(summary: dict[str, Any]) -> SandboxRun:
    """The sandbox record a `sandbox_run` summary keeps, as a `SandboxRun` (output empty, no
    files, no per-seed metrics)."""
    fields = {k: summary[k] for k in (
        "kind", "isolation", "enforced", "not_enforced", "exit_code", "killed_by",
        "stdout_bytes", "stderr_bytes", "wall_s", "cpu_s", "max_rss_mb", "result",
        "result_error", "limits") if k in summary}
    if isinstance(fields.get("result"), dict):
        fields["result"] = {k: v for k, v in fields["result"].items() if k != "seeds_run"}
    return SandboxRun.model_validate({**fields, "stdout": "", "stderr": "", "files": []})


_CODE_HEAD = "# worker code erased; kept:\n"


def code_from_summary(summary: dict[str, Any]) -> str:
    """What stands for erased worker code: its summary as text."""
    return _CODE_HEAD + "\n".join(
        f"# {line}" for line in render_summary(summary).splitlines())


def _step(step: ExecutedStep) -> ExecutedStep:
    runs = [
        StepRun(artifact_id=r.artifact_id, arm=r.arm, run=sandbox_from_summary(
            summarize(Kind.SANDBOX_RUN, r.run.model_dump(mode="json"))))
        for r in step.runs
    ]
    code = step.code
    if code is not None and not code.source.startswith(_CODE_HEAD):  # not summarised yet
        kept = summarize(Kind.WORKER_CODE, {"source": code.source})
        code = WorkerCode(artifact_id=code.artifact_id, source=code_from_summary(kept))
    rows = [LogRow.model_validate(row) for row in summarize(Kind.STEP_LOG, {
        "rows": [row.model_dump(mode="json") for row in step.log.rows]})["rows"]]
    log = step.log.model_copy(update={"rows": rows})
    return step.model_copy(update={"runs": runs, "code": code, "log": log})


def _paper(paper: PaperDraft) -> PaperDraft:
    # A number with a run came from a step log; one without, from an imported log (kept).
    kept = tuple(n for n in paper.numbers if n.run is None or n.seed is None)
    return paper.model_copy(update={"numbers": kept})


def summary_view(subject: S) -> S:
    """`subject` as a critic would see it once its detailed logs are erased (see the module's
    docstring); a subject of another type is returned unchanged."""
    if isinstance(subject, ExecutedStep):
        return _step(subject)  # type: ignore[return-value]  # S is ExecutedStep here
    if isinstance(subject, PaperDraft):
        return _paper(subject)  # type: ignore[return-value]  # S is PaperDraft here
    return subject


__all__ = ["code_from_summary", "sandbox_from_summary", "summary_view"]
