"""`autoalign compare list / add` and `autoalign show run ID` through the real CLI, on a run of
a scripted team."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.review import REVIEWER_ENV_VAR
from autoalign.store import Store
from autoalign.vocabulary import JudgmentSource, Kind

from ..pipeline.conftest import Team
from ..pipeline.test_run import agenda
from .helpers import invoke, one_error_line

_names = itertools.count()


@pytest.fixture
async def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int, dict[str, int]]:
    """A completed two-topic run: its database URL, id, and a case id per topic."""
    monkeypatch.delenv(REVIEWER_ENV_VAR, raising=False)
    name = f"compare{next(_names)}"
    register_script(name, Team())
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store.open(url) as store:
        summary = await run_agenda(agenda(f"scripted:{name}"), store=store)
        cases = {
            c.content_text.split("(", 1)[1].split(":", 1)[0]: c.id
            for c in store.artifacts(run_id=summary.run.id, kind=Kind.POSITIVE_CASE)
        }
    return url, summary.run.id, cases


async def test_compare_lists_cases_and_records_a_human_comparison(
    run: tuple[str, int, dict[str, int]], tmp_path: Path
) -> None:
    url, run_id, cases = run
    listed = invoke("--db", url, "compare", "list", str(run_id), cwd=tmp_path)
    assert listed.code == 0, listed.err
    assert "Reward hacking" in listed.out and "Probes" in listed.out
    assert str(cases["Probes"]) in listed.out and "0 human comparison(s)" in listed.out

    added = invoke("--db", url, "compare", "add", str(cases["Reward hacking"]),
                   str(cases["Probes"]), "--better", "second", "--reviewer", "ada",
                   "--comment", "sharper questions", cwd=tmp_path)
    assert added.code == 0, added.err
    with Store.open(url) as store:
        (row,) = store.judgments(source=JudgmentSource.HUMAN)
    assert (row.artifact_id, row.other_artifact_id, row.decision, row.reviewer) == (
        cases["Reward hacking"], cases["Probes"], "second", "ada"
    )
    assert row.rationale == "sharper questions" and row.created_at is not None
    again = invoke("--db", url, "compare", "list", str(run_id), cwd=tmp_path)
    assert "1 human comparison(s)" in again.out and "second (ada)" in again.out


async def test_compare_refuses_what_it_cannot_count(
    run: tuple[str, int, dict[str, int]], tmp_path: Path
) -> None:
    url, run_id, cases = run
    a, b = cases["Reward hacking"], cases["Probes"]
    with Store.open(url) as store:
        same_topic = [c.id for c in store.artifacts(run_id=run_id, kind=Kind.POSITIVE_CASE)
                      if "(Probes:" in c.content_text]
        idea = store.artifacts(run_id=run_id, kind=Kind.IDEA)[0].id

    def add(*args: str) -> str:
        return one_error_line(invoke("--db", url, "compare", "add", *args, cwd=tmp_path))

    assert "who is deciding" in add(str(a), str(b), "--better", "first")
    assert "first, second or tie" in add(str(a), str(b), "--better", "both", "--reviewer", "x")
    assert "not a positive_case" in add(str(a), str(idea), "--better", "first", "--reviewer", "x")
    assert "two different topics" in add(*map(str, same_topic), "--better", "tie",
                                         "--reviewer", "x")
    with Store.open(url) as store:
        assert store.judgments(source=JudgmentSource.HUMAN) == []


async def test_show_run_prints_the_funnel(
    run: tuple[str, int, dict[str, int]], tmp_path: Path
) -> None:
    url, run_id, _ = run
    shown = invoke("--db", url, "show", "run", str(run_id), cwd=tmp_path)
    assert shown.code == 0, shown.err
    out = shown.out
    for step, count in (("positive cases", 4), ("ideas babbled", 8), ("after merge", 4),
                        ("after screen", 2), ("proposals", 2), ("selected", 1)):
        assert any(step in line and f" {count} " in line for line in out.splitlines()), step
    assert "allocation of 4 babble samples" in out
    assert "Reward hacking: 0.50 [0.50, 0.50] -> 2 sample(s)" in out
    assert "judges agreed within 3 on 4 of 4 ideas (n=4" in out
    assert "for 0 of 4 pairs (n=4" in out  # the scripted judge always names the first shown
    assert out.count("screened_out: idea") == 2 and out.count("merged: idea") == 4
