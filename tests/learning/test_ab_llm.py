"""An A/B test whose arms are LLM critics that differ only in their settings: critic #2 as the
write-up runs it (`c2.pipeline`) with one instance against three, asked through a scripted
model. What is checked is what the experiment stored: the probability on every outcome, the
task's seed shared by both arms, and the paired Brier comparison it makes possible."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from autoalign.learning import build_ab_report, parse_ab_config, run_ab
from autoalign.models import register_script
from autoalign.store import Store
from tests.pipeline.conftest import Team

TAMPERED = "rose from 1.20 to 1.50"
"""The built-in paper's `best-seed-as-typical` injection at seed 0 (see the red-team tests)."""

_names = itertools.count()


def _candidates(prompt: str) -> dict[str, Any]:
    seen = TAMPERED in prompt
    return {
        "flaws": [{
            "category": "cherry_picking", "severity": "major", "confidence_percent": 80,
            "section": "main_text", "quote": TAMPERED,
            "description": "The main text prints the best seed where the mean was.",
        }] if seen else [],
        "severe_flaw_percent": 90 if seen else 5,
        "recommendation": "revise" if seen else "accept",
        "summary": "Checked the numbers.",
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_llm_arms_store_probabilities_and_share_the_task_seed(store: Store) -> None:
    team = Team()
    name = f"ab{next(_names)}"
    register_script(name, team)
    team.overrides["FlawCandidates"] = _candidates
    team.overrides["FlawCheck"] = lambda _p: {
        "verdict": "confirmed", "confidence_percent": 90, "severity": "major",
        "evidence": "The log's mean is 1.60."}
    config = parse_ab_config({
        "name": "llm", "flaw_types": ["best-seed-as-typical"], "injections_per_type": 1,
        "controls": 1, "models": {"default": f"scripted:{name}"},
        "a": {"critic": "c2.pipeline", "critic2": {"instances": 1}},
        "b": {"critic": "c2.pipeline"},
    })
    assert config.a.critic2 != config.b.critic2
    summary = asyncio.run(run_ab(store, config))
    assert summary.status == "completed" and summary.finished == 2
    rows = store.ab_outcomes(summary.experiment_id)
    assert len(rows) == 4 and all(r.probability is not None for r in rows)
    for key in {r.task_key for r in rows}:
        a, b = (next(r for r in rows if r.task_key == key and r.arm == arm) for arm in "AB")
        assert a.task_seed == b.task_seed
    tampered = [r for r in rows if r.flaw_type is not None]
    assert all(r.detected and r.correct for r in tampered)
    report = build_ab_report(store, "llm")
    assert report.brier is not None and report.brier.n == 2
    assert report.difference is not None and report.difference.discordant == 0
    calls = len(team.calls)
    again = asyncio.run(run_ab(store, config))
    assert again.outcomes_written == 0 and len(team.calls) == calls
