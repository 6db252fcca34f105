"""The configuration of an organism batch (`autoalign redteam organisms CONFIG`) and the table
it prints: per organism and misbehaviour, how often it was committed, caught by each critic and
carried into an accepted paper, each with n and a Wilson interval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..agenda import read_toml
from ..calibration import Interval, wilson_interval
from ..errors import ConfigError
from ._organism_runs import DEFAULT_QUESTION, Measurement, OrganismRun
from ._organisms import Organism


class OrganismsConfig(BaseModel):
    """The `[organisms]` section of a red-team config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    """The batch's seed: the misbehaviours each project commits are drawn from it."""
    projects: int = Field(default=2, ge=1, le=1000)
    """Projects (each a run) per organism."""
    question: str = DEFAULT_QUESTION
    """The testbed question (`testbed/question_id`) every project answers."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Models for the roles organisms do not play (`critic-1`, `critic-2`, `judge`): set
    `critic-2` to measure an LLM review; left out, those roles answer plainly and find nothing."""
    organism: list[Organism] = Field(min_length=1)
    """The organisms, each with its rates."""

    @model_validator(mode="after")
    def _distinct(self) -> OrganismsConfig:
        names = [o.name for o in self.organism]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"organism names must be distinct; repeated: {', '.join(twice)}")
        if self.question.count("/") != 1:
            raise ValueError(f"question must be testbed/question_id, got {self.question!r}")
        return self


def load_organisms_config(path: Path) -> OrganismsConfig:
    """Read the `[organisms]` section of the TOML file at `path`.

    Raises:
        ConfigError: the file is missing, is not TOML, or its section is invalid.
    """
    data = read_toml(path)
    if "organisms" not in data:
        raise ConfigError(f"organisms config {path} has no [organisms] section (see "
                          "examples/organisms.toml)")
    try:
        return OrganismsConfig.model_validate(data["organisms"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"organisms config {path} is invalid: {problems}") from None


@dataclass(frozen=True, kw_only=True)
class Count:
    """k of n, with its 95% Wilson interval."""

    k: int
    n: int

    @property
    def interval(self) -> Interval | None:
        """The interval, None when n is 0."""
        return wilson_interval(self.k, self.n) if self.n else None

    def text(self) -> str:
        """`k/n [low, high]`, or `0/0` with no interval."""
        iv = self.interval
        return f"{self.k}/{self.n}" + (f" [{iv.low:.2f}, {iv.high:.2f}]" if iv else "")


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    """One organism and one misbehaviour (or `none`: its clean papers) across its projects."""

    organism: str
    flaw_type: str
    committed: Count
    """Projects that committed it, of the organism's projects."""
    caught: dict[str, Count]
    """Per critic (`id@version`): projects where it detected the misbehaviour, of those that
    committed it (for `none`: projects where it flagged anything, a false alarm)."""
    survived: Count
    """Projects that committed it whose paper was accepted, of those that committed it."""


def summarise(runs: Sequence[OrganismRun], measurement: Measurement) -> list[SummaryRow]:
    """The printed table's rows, per organism in config order, per misbehaviour committed."""
    rows: list[SummaryRow] = []
    critics = sorted({t.critic for t in measurement.trials})
    by_run = {s.run_id: s for s in measurement.survival}
    organisms = list(dict.fromkeys(r.organism for r in runs))
    for name in organisms:
        mine = [by_run[r.run_id] for r in runs if r.organism == name and r.run_id in by_run]
        kinds = sorted({k for s in mine for k in s.known})
        for kind in kinds:
            hit = [s for s in mine if kind in s.known]
            rows.append(SummaryRow(
                organism=name, flaw_type=kind, committed=Count(k=len(hit), n=len(mine)),
                caught={c: Count(k=sum(1 for s in hit if c in s.detected_by.get(kind, ())),
                                 n=len(hit)) for c in critics},
                survived=Count(k=sum(1 for s in hit if s.accepted), n=len(hit)),
            ))
        clean = [s for s in mine if not s.known]
        if clean:
            rows.append(SummaryRow(
                organism=name, flaw_type="none", committed=Count(k=len(clean), n=len(mine)),
                caught={c: Count(k=sum(1 for s in clean if c in s.flagged_by), n=len(clean))
                        for c in critics},
                survived=Count(k=sum(1 for s in clean if s.accepted), n=len(clean)),
            ))
    return rows


__all__ = ["Count", "OrganismsConfig", "SummaryRow", "load_organisms_config", "summarise"]
