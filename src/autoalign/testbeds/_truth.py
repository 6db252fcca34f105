"""Ground truth: every question's true effect from many paired seeds, computed in parallel and
cached on disk per testbed version and question definitions."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .._cache import cache_folder
from ..errors import ConfigError, DataError
from ._base import Direction, EffectKind, Question, Testbed
from ._registry import get_testbed

TRUTH_SEED_BASE = 1_000_000
"""Ground truth uses seeds TRUTH_SEED_BASE, TRUTH_SEED_BASE + 1, ..., so it is independent of the
small seeds experiments usually run."""
_FORMAT = 1
"""Version of the estimator and the cache file layout; part of the cache key."""

Estimator = Literal["paired_difference", "ratio_of_means_delta"]


class Truth(BaseModel):
    """The true answer to one research question, estimated from many paired seeds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    testbed: str
    """Testbed name."""
    question_id: str
    """`Question.id` within the testbed."""
    version: str
    """Testbed version the truth was computed for."""
    metric: str
    """The metric compared."""
    effect_kind: EffectKind
    """`difference` or `relative_change`."""
    threshold: float
    """The question's threshold."""
    direction: Direction
    """`at_least` or `at_most`: which side of the threshold means yes."""
    effect: float
    """Estimated true effect: mean of paired differences, or ratio of means - 1."""
    se: float
    """Standard error of `effect`: sd of paired differences / sqrt(n), or the delta method for a
    ratio of means with the two arms' covariance (same seeds in both arms)."""
    estimator: Estimator
    """`paired_difference` or `ratio_of_means_delta`."""
    n_seeds: int
    """Seeds per arm (the same seeds in both arms)."""
    answer: bool
    """Whether the question's claim holds at the estimated effect."""
    baseline_mean: float
    """Mean of the metric in the comparison arm (no intervention, or the question's comparison
    intervention)."""
    treated_mean: float
    """Mean of the metric in the treated arm."""
    from_cache: bool = False
    """Whether this value was read from the on-disk cache rather than computed by this call."""

    @property
    def z(self) -> float:
        """(effect - threshold) / se: how many standard errors the answer is from flipping."""
        if self.se > 0:
            return (self.effect - self.threshold) / self.se
        return math.copysign(math.inf, self.effect - self.threshold)


class _TruthFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: int
    key: str
    testbed: str
    version: str
    n_seeds: int
    seconds: float
    created: str
    truths: list[Truth]


def default_workers() -> int:
    """Processes the machine can run at once (the CPUs this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def truth_cache_path(name: str, *, seeds: int = 300, cache_dir: Path | None = None) -> Path:
    """The JSON file that holds (or will hold) the ground truth of testbed `name` at `seeds`.

    `cache_dir` stands in for `$AUTOALIGN_CACHE_DIR` (default `~/.cache/autoalign`); the file is
    in its `truth/` folder, named by testbed, version and a hash of the question definitions,
    knob defaults, seed count and estimator version.

    Raises:
        ConfigError: unknown testbed.
    """
    testbed = get_testbed(name)
    folder = cache_folder("truth", root=cache_dir)
    return folder / f"{testbed.name}-v{testbed.version}-{_key(testbed, seeds)}.json"


def _key(testbed: Testbed, seeds: int) -> str:
    identity = {
        "format": _FORMAT,
        "testbed": testbed.name,
        "version": testbed.version,
        "seed_base": TRUTH_SEED_BASE,
        "n_seeds": seeds,
        "knob_defaults": {k.name: k.default for k in testbed.knobs},
        "questions": [asdict(q) for q in testbed.questions],
    }
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def ground_truth(
    name: str,
    *,
    seeds: int = 300,
    workers: int | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> list[Truth]:
    """The true effect and answer of every research question of testbed `name`, in order.

    Every arm a question needs (its config with its intervention, and with its comparison) is run
    on the same `seeds` seeds, so the arms are paired. A `difference` is the mean of the paired
    differences with SE sd/sqrt(n); a `relative_change` is mean(treated) / mean(comparison) - 1
    with the delta-method SE that includes the arms' covariance. The result is cached as JSON
    (see `truth_cache_path`) and read back while the testbed's version, questions, knob defaults
    and `seeds` stay the same.

    Args:
        name: registered testbed.
        seeds: seeds per arm (at least 2).
        workers: processes to use; default one per CPU; 1 runs in this process.
        cache_dir: stands in for `$AUTOALIGN_CACHE_DIR`.
        progress: draw a Rich progress bar on stderr.

    Raises:
        ConfigError: unknown testbed, or seeds or workers out of range.
        DataError: a relative change whose comparison mean is 0.
    """
    testbed = get_testbed(name)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 2:
        raise ConfigError(f"ground truth needs at least 2 seeds, got {seeds!r}", field="seeds")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}", field="workers")
    path = truth_cache_path(name, seeds=seeds, cache_dir=cache_dir)
    cached = _read_cache(path, key=_key(testbed, seeds))
    if cached is not None:
        return cached

    started = time.perf_counter()
    arms = _arms(testbed.questions)
    seed_list = list(range(TRUTH_SEED_BASE, TRUTH_SEED_BASE + seeds))
    results = _run_arms(
        type(testbed), arms, seed_list, workers=workers or default_workers(),
        progress=progress, label=f"truth {testbed.name}",
    )
    truths = [_truth(testbed, q, results, seeds) for q in testbed.questions]
    _write_cache(path, _TruthFile(
        format=_FORMAT, key=_key(testbed, seeds), testbed=testbed.name, version=testbed.version,
        n_seeds=seeds, seconds=time.perf_counter() - started,
        created=datetime.now(UTC).isoformat(timespec="seconds"), truths=truths,
    ))
    return truths


# -- arms and runs ---------------------------------------------------------------------------

_Arm = tuple[str, str | None]
"""(canonical JSON of the question's config, intervention)."""


def _arm(q: Question, intervention: str | None) -> _Arm:
    return json.dumps(dict(q.config), sort_keys=True), intervention


def _arms(questions: Sequence[Question]) -> list[_Arm]:
    arms: dict[_Arm, None] = {}
    for q in questions:
        arms[_arm(q, q.intervention)] = None
        arms[_arm(q, q.comparison)] = None
    return list(arms)


def _run_chunk(
    cls: type[Testbed], config: Mapping[str, Any], intervention: str | None, seeds: list[int]
) -> list[dict[str, float]]:
    """Worker: run one arm on a few seeds (module level so a process pool can pickle it)."""
    testbed = cls()
    return [testbed.run(config, intervention=intervention, seed=s) for s in seeds]


def _run_arms(
    cls: type[Testbed],
    arms: list[_Arm],
    seeds: list[int],
    *,
    workers: int,
    progress: bool,
    label: str,
) -> dict[_Arm, list[dict[str, float]]]:
    total = len(arms) * len(seeds)
    chunk = max(1, min(25, math.ceil(total / (workers * 8))))
    tasks = [
        (arm, start, seeds[start : start + chunk])
        for arm in arms
        for start in range(0, len(seeds), chunk)
    ]
    parts: dict[tuple[_Arm, int], list[dict[str, float]]] = {}
    if workers == 1:
        with _bar(progress, label, total) as advance:
            for arm, start, batch in tasks:
                parts[arm, start] = _run_chunk(cls, json.loads(arm[0]), arm[1], batch)
                advance(len(batch))
    else:
        pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)))
        try:
            # Submit before the bar starts its refresh thread: a forking pool then forks a
            # process with no other threads.
            futures: dict[Future[list[dict[str, float]]], tuple[_Arm, int]] = {
                pool.submit(_run_chunk, cls, json.loads(arm[0]), arm[1], batch): (arm, start)
                for arm, start, batch in tasks
            }
            with _bar(progress, label, total) as advance:
                for future in as_completed(futures):
                    done = future.result()
                    parts[futures[future]] = done
                    advance(len(done))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    return {
        arm: [r for start in range(0, len(seeds), chunk) for r in parts[arm, start]]
        for arm in arms
    }


@contextmanager
def _bar(show: bool, label: str, total: int) -> Iterator[Any]:
    """A Rich progress bar on stderr; yields `advance(n)`."""
    if not show:
        yield lambda n: None
        return
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("runs"), TimeElapsedColumn(), TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


# -- estimates -------------------------------------------------------------------------------


def estimate_effect(
    effect_kind: EffectKind,
    treated: Sequence[float] | NDArray[np.float64],
    comparison: Sequence[float] | NDArray[np.float64],
) -> tuple[float, float]:
    """(effect, standard error) of treated against comparison, paired by position.

    `difference`: mean(t - c), SE = sd(t - c) / sqrt(n). `relative_change`: mean(t) / mean(c) - 1,
    SE by the delta method, Var ≈ [var(t)/mc² - 2·mt·cov(t, c)/mc³ + mt²·var(c)/mc⁴] / n with
    sample (n - 1) variances and covariance.

    Raises:
        DataError: fewer than 2 pairs, different lengths, or a relative change from a zero mean.
    """
    t = np.asarray(treated, dtype=float)
    c = np.asarray(comparison, dtype=float)
    n = len(t)
    if n < 2 or len(c) != n:
        raise DataError(f"an effect needs two arms of the same length >= 2, got {n} and {len(c)}")
    if effect_kind == "difference":
        d = t - c
        return float(d.mean()), float(d.std(ddof=1) / math.sqrt(n))
    mt, mc = float(t.mean()), float(c.mean())
    if mc == 0:
        raise DataError("a relative change is undefined: the comparison arm's mean is 0")
    cov = np.cov(t, c, ddof=1)
    var = (cov[0, 0] / mc**2 - 2 * mt * cov[0, 1] / mc**3 + mt**2 * cov[1, 1] / mc**4) / n
    return mt / mc - 1.0, math.sqrt(max(float(var), 0.0))


def _truth(
    testbed: Testbed, q: Question, results: Mapping[_Arm, list[dict[str, float]]], seeds: int
) -> Truth:
    treated = [r[q.metric] for r in results[_arm(q, q.intervention)]]
    comparison = [r[q.metric] for r in results[_arm(q, q.comparison)]]
    try:
        effect, se = estimate_effect(q.effect_kind, treated, comparison)
    except DataError as exc:
        raise DataError(f"testbed {testbed.name!r}, question {q.id!r}: {exc}") from exc
    return Truth(
        testbed=testbed.name, question_id=q.id, version=testbed.version, metric=q.metric,
        effect_kind=q.effect_kind, threshold=q.threshold, direction=q.direction,
        effect=effect, se=se,
        estimator="paired_difference" if q.effect_kind == "difference"
        else "ratio_of_means_delta",
        n_seeds=seeds, answer=q.holds(effect),
        baseline_mean=float(np.mean(comparison)), treated_mean=float(np.mean(treated)),
    )


# -- cache -----------------------------------------------------------------------------------


def _read_cache(path: Path, *, key: str) -> list[Truth] | None:
    """The cached truths, or None when the file is missing, unreadable or for another key."""
    try:
        stored = _TruthFile.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    if stored.format != _FORMAT or stored.key != key:
        return None
    return [t.model_copy(update={"from_cache": True}) for t in stored.truths]


def _write_cache(path: Path, content: _TruthFile) -> None:
    """Write atomically (a temporary file renamed into place), so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(content.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
