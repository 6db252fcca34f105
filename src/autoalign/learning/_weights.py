"""Refitting stage 1's judge weights from human comparisons (`docs/learning.md`, "Judge weights").

Stage 1 allocates its idea budget by a Bradley-Terry fit of pairwise comparisons of positive
cases, from model judges and from humans (`autoalign compare`). Where humans and model judges
compared the same pair, the humans' majority is the truth a model judge can be scored against:

- **reliability**: a model judge's agreement with the human majority over the pairs it gave a
  decisive verdict on (its verdicts on a pair, in both orders, summed: a position-following
  pair of verdicts is a tie and is left out), with its Wilson interval and n. A human's is each
  human verdict's agreement with the majority of the *other* humans on the same pair.
- **weights** (one-coin Dawid-Skene): a judge right with probability p independently of the
  others adds `log(p / (1 - p))` to the log-odds that its choice is the better item, so its
  weight is `max(0, logit((agree + 1) / (n + 2)))` (Laplace's rule keeps a perfect record on few
  pairs finite; a judge at or below chance gets 0). Weight 1 is today's implicit assumption for
  every model judge (logit 1: right 73% of the time). The human weight is the same rule on the
  humans' leave-one-out agreement, bounded to [1, 100] like `[pipeline] human_weight`; with no
  pair that two humans compared it stays the current one.
- **decision**: the overlapping pairs, ordered by when their human majority became known, are
  split into the earlier ones (fit) and the most recent `holdout` fraction (held out). On the
  held-out pairs the human choice is predicted from the model judges' verdicts, as
  `sigmoid(sum of weight x vote)`, with the refitted weights and with the current ones; the
  refit is applied only when its held-out log loss is lower. Either way the decision is a
  critic version of `judges.stage1` (`UpdateKind.JUDGE_WEIGHTS`) with the weights as params and
  n, log loss and accuracy with intervals as evidence; stage 1 uses the newest applied one.

Labels (`labels` table) are not used: no label source yet judges a pairwise comparison.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ..agenda import PipelineSection
from ..calibration import bootstrap_interval, log_loss, wilson_interval
from ..pipeline import JUDGE_AGGREGATION, JUDGE_AGGREGATION_VERSION
from ..store import CriticVersionRecord, Store
from ..vocabulary import JudgmentSource, Kind, UpdateKind

HUMAN = "human"
"""The name humans are reported under."""
MIN_PAIRS = 10
"""Fewest overlapping pairs (with a human majority) a refit is decided on."""
MIN_HELDOUT = 3
"""Fewest held-out pairs a refit is decided on."""
HUMAN_BOUNDS = (1.0, 100.0)
"""The human weight's bounds: those of `[pipeline] human_weight`."""
N_BOOT = 1000
"""Bootstrap replicates of the held-out figures' intervals."""


@dataclass(frozen=True, kw_only=True)
class Reliability:
    """One judge's agreement with the human majority, and the weight it earns."""

    judge: str
    """`provider:model`, or `human`."""
    agree: int
    n: int
    """Decisive verdicts scored."""
    low: float
    """Wilson interval of the agreement rate (0 and 1 when n is 0)."""
    high: float
    weight: float

    @property
    def rate(self) -> float:
        """Agreement rate (0.5 when n is 0)."""
        return self.agree / self.n if self.n else 0.5


@dataclass(frozen=True, kw_only=True)
class WeightsRefit:
    """One refit of stage 1's judge weights and its decision."""

    version: CriticVersionRecord
    """The critic version recorded (applied or rejected)."""
    n_pairs: int
    """Pairs both humans (with a majority) and model judges compared."""
    n_fit: int
    n_heldout: int
    judges: tuple[Reliability, ...]
    """Each model judge's reliability on the fit pairs."""
    human: Reliability
    current: dict[str, Any]
    """The weights in use before (`model_weights`, `human_weight`, `version`)."""
    heldout: dict[str, Any] = field(default_factory=dict)
    """Held-out log loss and accuracy of the refit and the current weights, with intervals."""

    @property
    def applied(self) -> bool:
        """The refit is now in use."""
        return self.version.applied

    @property
    def reason(self) -> str:
        """Why it was applied or rejected."""
        return self.version.reason


@dataclass(frozen=True, kw_only=True)
class _Pair:
    """A pair of cases both humans and model judges compared; votes favour `lo` at +1."""

    lo: int
    hi: int
    human: list[int]
    """Each human verdict: +1 (lo better), -1 (hi better), 0 (tie)."""
    model: dict[str, int]
    """Each model judge's verdicts on the pair summed (both orders), as +1, -1 or 0."""
    known_at: tuple[datetime, int]
    """When the human majority became known: the latest human verdict's time and id."""

    @property
    def majority(self) -> int:
        """+1 or -1: the humans' majority (0: none)."""
        total = sum(self.human)
        return (total > 0) - (total < 0)


def _vote(lo: int, first: int, decision: str | None) -> int:
    """A verdict on (first, other) as a vote for `lo` (+1) or the other item (-1), tie 0."""
    if decision not in ("first", "second"):
        return 0
    first_won = decision == "first"
    return 1 if first_won == (first == lo) else -1


def overlapping_pairs(store: Store) -> list[_Pair]:
    """Pairs of positive cases compared by humans (with a majority) and by a model judge,
    oldest known first."""
    humans: dict[tuple[int, int], list[int]] = defaultdict(list)
    known: dict[tuple[int, int], tuple[datetime, int]] = {}
    votes: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in store.pairwise_judgments(kind=Kind.POSITIVE_CASE):
        if r.other_artifact_id is None or r.other_artifact_id == r.artifact_id:
            continue
        key = (min(r.artifact_id, r.other_artifact_id), max(r.artifact_id, r.other_artifact_id))
        vote = _vote(key[0], r.artifact_id, r.decision)
        if r.source == JudgmentSource.HUMAN.value:
            humans[key].append(vote)
            when = (r.created_at or datetime.min, r.id)
            known[key] = max(known.get(key, when), when)
        elif r.model:
            votes[key][r.model] += vote
    pairs = [
        _Pair(lo=k[0], hi=k[1], human=humans[k],
              model={m: (v > 0) - (v < 0) for m, v in votes[k].items()}, known_at=known[k])
        for k in humans if k in votes
    ]
    return sorted((p for p in pairs if p.majority != 0), key=lambda p: p.known_at)


def one_coin_weight(agree: int, n: int) -> float:
    """`max(0, logit((agree + 1) / (n + 2)))`: a one-coin judge's log-odds weight."""
    if n < 0 or not 0 <= agree <= n:
        raise ValueError(f"need 0 <= agree <= n; got {agree}/{n}")
    p = (agree + 1) / (n + 2)
    return max(0.0, math.log(p / (1.0 - p)))


def _reliability(judge: str, agree: int, n: int, weight: float) -> Reliability:
    ci = wilson_interval(agree, n) if n else None
    return Reliability(judge=judge, agree=agree, n=n, low=ci.low if ci else 0.0,
                       high=ci.high if ci else 1.0, weight=weight)


def model_reliabilities(pairs: list[_Pair]) -> dict[str, Reliability]:
    """Each model judge's agreement with the human majority over its decisive verdicts."""
    agree: dict[str, int] = defaultdict(int)
    n: dict[str, int] = defaultdict(int)
    for p in pairs:
        for judge, v in p.model.items():
            if v != 0:
                n[judge] += 1
                agree[judge] += v == p.majority
    return {j: _reliability(j, agree[j], n[j], one_coin_weight(agree[j], n[j])) for j in n}


def human_reliability(pairs: list[_Pair], current: float) -> Reliability:
    """Each decisive human verdict against the majority of the other humans on its pair; the
    weight is the one-coin rule bounded to `HUMAN_BOUNDS`, or `current` with no such verdict."""
    agree = n = 0
    for p in pairs:
        total = sum(p.human)
        for v in p.human:
            others = total - v
            if v != 0 and others != 0:
                n += 1
                agree += (v > 0) == (others > 0)
    weight = current
    if n:
        weight = min(max(one_coin_weight(agree, n), HUMAN_BOUNDS[0]), HUMAN_BOUNDS[1])
    return _reliability(HUMAN, agree, n, weight)


def predict(pairs: list[_Pair], weights: dict[str, float]) -> np.ndarray:
    """P(the humans prefer `lo`) per pair: sigmoid of the weighted model votes (a judge
    `weights` does not name counts 1)."""
    scores = np.array([sum(weights.get(j, 1.0) * v for j, v in p.model.items()) for p in pairs],
                      dtype=float)
    result: np.ndarray = 1.0 / (1.0 + np.exp(-scores))
    return result


def _figures(p: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Log loss (bootstrap interval) and accuracy (Wilson interval; a 0.5 counts wrong)."""
    loss_ci = bootstrap_interval(log_loss, p, y, n_boot=N_BOOT, seed=seed)
    right = int(np.sum((p > 0.5) == (y == 1.0)) - np.sum((p == 0.5) & (y == 0.0)))
    acc_ci = wilson_interval(right, len(y))
    return {
        "log_loss": log_loss(p, y), "log_loss_low": loss_ci.low, "log_loss_high": loss_ci.high,
        "accuracy": right / len(y), "accuracy_low": acc_ci.low, "accuracy_high": acc_ci.high,
        "n": len(y),
    }


def current_weights(store: Store) -> dict[str, Any]:
    """The weights stage 1 uses now: the newest applied refit's, else one per model judge and
    the agenda default `human_weight`."""
    active = store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS)
    if active is None:
        default = PipelineSection.model_fields["human_weight"].default
        return {"model_weights": {}, "human_weight": float(default), "version": None}
    return {"model_weights": dict(active.params["model_weights"]),
            "human_weight": float(active.params["human_weight"]), "version": active.label}


def refit_judge_weights(
    store: Store, *, holdout: float = 0.3, seed: int = 0
) -> WeightsRefit:
    """Refit stage 1's judge weights from the pairs humans and model judges both compared,
    decide on the most recent `holdout` fraction, and record the decision as a critic version
    of `judges.stage1` (applied only when the held-out log loss improves).

    Raises:
        ValueError: `holdout` is not in (0, 1).
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    current = current_weights(store)
    pairs = overlapping_pairs(store)
    n_held = round(len(pairs) * holdout)
    fit, held = pairs[:len(pairs) - n_held], pairs[len(pairs) - n_held:]
    judges = model_reliabilities(fit)
    human = human_reliability(fit, current["human_weight"])
    new = {j: r.weight for j, r in sorted(judges.items())}
    params: dict[str, Any] = {
        "model_weights": new, "human_weight": human.weight,
        "rule": "one-coin log-odds: max(0, logit((agree + 1) / (n + 2)))",
    }
    evidence: dict[str, Any] = {
        "n_pairs": len(pairs), "n_fit": len(fit), "n_heldout": len(held),
        "current_version": current["version"],
        "judges": {j: {"agree": r.agree, "n": r.n, "low": r.low, "high": r.high}
                   for j, r in sorted(judges.items())},
        "human": {"agree": human.agree, "n": human.n, "low": human.low, "high": human.high},
    }
    heldout: dict[str, Any] = {}
    if len(pairs) < MIN_PAIRS or len(held) < MIN_HELDOUT or not judges:
        applied = False
        reason = (f"too few pairs compared by both humans and model judges: {len(pairs)} "
                  f"({len(held)} held out, {len(judges)} judge(s) with a decisive verdict on "
                  f"the rest); need {MIN_PAIRS} with {MIN_HELDOUT} held out")
    else:
        y = np.array([1.0 if p.majority > 0 else 0.0 for p in held])
        heldout = {
            "refit": _figures(predict(held, new), y, seed),
            "current": _figures(predict(held, dict(current["model_weights"])), y, seed),
        }
        gain = heldout["current"]["log_loss"] - heldout["refit"]["log_loss"]
        applied = gain > 0
        reason = (
            f"held-out log loss {heldout['refit']['log_loss']:.3f} vs "
            f"{heldout['current']['log_loss']:.3f} with the current weights (n={len(held)}): "
            + ("lower, applied" if applied else "not lower, rejected")
        )
        evidence["heldout"] = heldout
    version = store.add_critic_version(
        critic=JUDGE_AGGREGATION, base_version=JUDGE_AGGREGATION_VERSION,
        update=UpdateKind.JUDGE_WEIGHTS, params=params, evidence=evidence, applied=applied,
        reason=reason,
    )
    return WeightsRefit(
        version=version, n_pairs=len(pairs), n_fit=len(fit), n_heldout=len(held),
        judges=tuple(judges[j] for j in sorted(judges)), human=human, current=current,
        heldout=heldout,
    )


__all__ = [
    "HUMAN",
    "MIN_HELDOUT",
    "MIN_PAIRS",
    "Reliability",
    "WeightsRefit",
    "current_weights",
    "human_reliability",
    "model_reliabilities",
    "one_coin_weight",
    "overlapping_pairs",
    "predict",
    "refit_judge_weights",
]
