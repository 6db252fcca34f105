"""`examine`: a paper written elsewhere and its logs, imported with provenance and checked by
critic #2 (programmatic checks and a scripted LLM review); the CLI prints the report."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo

from autoalign.examine import examine
from autoalign.models import register_script
from autoalign.store import Store

from ..cli.helpers import invoke, one_error_line

_names = itertools.count()

FAITHFUL = """\
# Repeat penalties and reward hacking

## Abstract

On three seeds, a repeat penalty cut the hacking rate from 0.32 to 0.12.

- The repeat penalty cuts hacking (p=70%)

## Introduction

Reward hacking undermines training; we test whether a repeat penalty reduces it.

## Results

The hacking rate fell from 0.32 to 0.12 with the repeat penalty (per seed 0.12, 0.10 and
0.14), a relative change of -62.5%. The repeat penalty cuts hacking.
"""
UNFAITHFUL = FAITHFUL.replace("from 0.32 to 0.12 with", "from 0.32 to 0.09 with")
LOG = "arm,seed,hacking_rate\npenalty,0,0.12\npenalty,1,0.10\npenalty,2,0.14\n" \
      "baseline,0,0.30\nbaseline,1,0.34\nbaseline,2,0.32\n"
NO_FLAWS: dict[str, Any] = {"flaws": [], "decision": "accept", "summary": "Faithful."}


def _critic(reply: dict[str, Any]) -> tuple[str, list[str]]:
    """A scripted critic-2 model answering `reply`; returns its id and the prompts it saw."""
    prompts: list[str] = []

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompts.append(str(messages[-1].parts[-1].content))  # type: ignore[union-attr]  # a request
        return ModelResponse(parts=[TextPart(json.dumps(reply))])

    name = f"examiner{next(_names)}"
    register_script(name, answer)
    return f"scripted:{name}", prompts


def _files(tmp_path: Path, paper: str) -> tuple[Path, Path]:
    path = tmp_path / "paper.md"
    path.write_text(paper, encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "results.csv").write_text(LOG)
    return path, logs


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/research.db")


async def test_a_faithful_paper_is_imported_with_provenance_and_not_flagged(
    store: Store, tmp_path: Path
) -> None:
    model, prompts = _critic(NO_FLAWS)
    paper, logs = _files(tmp_path, FAITHFUL)
    report = await examine(store, paper, logs_dir=logs, model=model)

    assert report.flaws == () and report.review_error is None
    assert (report.decision, report.summary) == ("accept", "Faithful.")
    assert report.critics == (
        "c2.abstract-scope@1", "c2.claim-strength@1", "c2.numbers-match@1", "c2.review@1"
    )
    run = store.get_run(report.run_id)
    assert run.status == "completed" and run.name == "examine paper.md"
    kinds = [a.kind for a in store.artifacts(run_id=report.run_id)]
    assert sorted(kinds) == sorted(["imported_log", "imported_section", "imported_section",
                                    "imported_section", "imported_paper", "paper_critique"])
    stored = store.artifact(report.paper_id)
    assert stored.content_json["source"] == "paper.md"
    assert stored.content_json["format"] == "markdown"
    assert len(stored.content_json["sha256"]) == 64
    assert stored.content_json["claims"] == [
        {"text": "The repeat penalty cuts hacking", "probability": 0.7}
    ]
    (log,) = report.logs
    assert (log.label, log.numbers) == ("results.csv", 6)
    numbers = store.artifact(log.artifact_id).content_json["numbers"]
    assert numbers[0] == {"arm": "penalty", "metric": "hacking_rate", "seed": 0, "value": 0.12,
                          "where": "results.csv line 2, field hacking_rate"}
    parents = {(store.artifact(p.parent_id).kind, p.relation)
               for p in store.parents(report.paper_id)}
    assert parents == {("imported_section", "contains"), ("imported_log", "context")}
    (prompt,) = prompts
    assert "penalty hacking_rate seed 0 = 0.12" in prompt and "0.32 to 0.12" in prompt


async def test_a_number_that_differs_from_its_log_is_flagged_at_its_span(
    store: Store, tmp_path: Path
) -> None:
    model, _ = _critic(NO_FLAWS)
    paper, logs = _files(tmp_path, UNFAITHFUL)
    report = await examine(store, paper, logs_dir=logs, model=model)

    mismatches = [f for f in report.flaws if f.critic == "c2.numbers-match@1"]
    assert len(mismatches) == 1
    (flaw,) = mismatches
    results = next(s for s in report.sections if s.label == "main text (Results)")
    section_text = store.artifact(results.artifact_id).content_text
    assert (flaw.category, flaw.severity, flaw.artifact_id, flaw.field) == (
        "number_mismatch", "major", results.artifact_id, "text"
    )
    assert flaw.start is not None and section_text[flaw.start:flaw.end] == "0.09"
    assert "nearest log value" in flaw.evidence and "results.csv line" in flaw.evidence
    stored = store.flaws(critic="c2.numbers-match", critic_version="1")
    assert [(f.artifact_id, f.category) for f in stored] == [
        (results.artifact_id, "number_mismatch")
    ]


async def test_the_llm_review_flaws_are_recorded_and_found_by_its_critique(
    store: Store, tmp_path: Path
) -> None:
    model, _ = _critic({
        "flaws": [{"category": "cherry_picking", "severity": "critical", "section": "main_text",
                   "description": "Only the best seed."}],
        "decision": "reject", "summary": "Cherry-picked.",
    })
    paper, logs = _files(tmp_path, FAITHFUL)
    report = await examine(store, paper, logs_dir=logs, model=model)
    (flaw,) = report.flaws
    assert (flaw.critic, flaw.category, flaw.severity) == (
        "c2.review@1", "cherry_picking", "critical"
    )
    assert flaw.section == "main text (Results)" and report.decision == "reject"
    (critique,) = store.artifacts(run_id=report.run_id, kind="paper_critique")
    assert [f.critic for f in store.flaws(found_by_id=critique.id)] == ["c2.review"]


async def test_without_logs_numbers_are_not_checked_but_claims_are(
    store: Store, tmp_path: Path
) -> None:
    model, _ = _critic(NO_FLAWS)
    path = tmp_path / "paper.md"
    path.write_text(UNFAITHFUL.replace("(p=70%)", "(p=99%)"))
    report = await examine(store, path, model=model)
    assert report.logs == ()
    assert [(f.critic, f.category, f.field) for f in report.flaws] == [
        ("c2.claim-strength@1", "overclaiming", "claims[0]")
    ]


def test_cli_prints_each_flaw_escaped(tmp_path: Path) -> None:
    model, _ = _critic(NO_FLAWS)
    paper, logs = _files(tmp_path, UNFAITHFUL.replace("## Results", "## Results \x1b[2J"))
    db = f"sqlite:///{tmp_path}/cli.db"
    result = invoke("examine", str(paper), "--logs", str(logs), "--model", model, "--db", db,
                    cwd=tmp_path)
    assert result.code == 0, result.err
    assert "imported as paper artifact" in result.out and "log results.csv" in result.out
    assert "1 flaw(s)" in result.out
    assert "major number_mismatch (c2.numbers-match@1) in main text" in result.out
    assert "\x1b" not in result.out and "\\x1b[2J" in result.out
    assert "evidence:" in result.out and "0.09" in result.out


def test_cli_names_a_paper_it_cannot_read(tmp_path: Path) -> None:
    model, _ = _critic(NO_FLAWS)
    (tmp_path / "paper.docx").write_text("x")
    line = one_error_line(invoke("examine", "paper.docx", "--model", model, "--db",
                                 f"sqlite:///{tmp_path}/cli.db", cwd=tmp_path))
    assert "paper.docx" in line and ".md" in line
