"""`autoalign learn checks` and the end of `autoalign run` through the real CLI: deeper reviews
of load-bearing papers scheduled and printed, and their records (the decisions themselves are
tested in tests/learning/test_checks.py and tests/pipeline/test_learning_checks.py)."""

from __future__ import annotations

from pathlib import Path

from autoalign.models import register_script
from autoalign.store import Store
from autoalign.vocabulary import CheckOutcome, CheckTrigger, Kind, Stage, Status

from ..learning.test_checks import CASE  # a case reading the flawed-paper rate
from ..pipeline.conftest import Team
from .helpers import invoke, one_error_line
from .test_cli_rereview import AGENDA

LEARNING = """
[learning]
load_bearing_descendants = 2
deep_reviews = 1
case_evidence = false
"""


def _papers(url: str) -> list[int]:
    """Two accepted papers, with 3 and 2 artifacts built on them."""
    ids = []
    with Store.open(url) as store:
        run = store.create_run(name="r", agenda_digest="d" * 64, config={})
        for n in (2, 3):
            paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage=Stage.WRITEUP).id
            store.set_status(paper, Status.ACCEPTED, reason="test")
            for _ in range(n):
                store.add_artifact(run_id=run.id, kind=Kind.IDEA, stage=Stage.PROPOSE,
                                   parents=[paper])
            ids.append(paper)
    return ids


def test_learn_checks_schedules_within_the_budget_and_prints_each_decision(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    two, three = _papers(url)
    agenda = tmp_path / "agenda.toml"
    agenda.write_text(AGENDA + LEARNING)
    out = invoke("learn", "checks", "--agenda", str(agenda), "--db", url, cwd=tmp_path)
    assert out.code == 0, out.err
    assert f"deep review of paper {three} scheduled" in out.out
    assert "1 load-bearing paper(s) not scheduled: the deep_reviews budget (1) is spent" in out.out
    with Store.open(url) as store:
        done = [(c.paper_id, c.outcome) for c in store.learning_checks()]
        assert done == [(three, CheckOutcome.SCHEDULED), (two, CheckOutcome.SKIPPED_BUDGET)]
    again = invoke("learn", "checks", "--agenda", str(agenda), "--db", url, cwd=tmp_path)
    assert again.code == 0 and f"deep review of paper {two} scheduled" in again.out
    last = invoke("learn", "checks", "--agenda", str(agenda), "--db", url, cwd=tmp_path)
    assert "no load-bearing paper without a deeper review scheduled" in last.out
    assert "deeper reviews: 2 scheduled, 0 performed" in last.out


def test_learn_checks_without_an_agenda_needs_a_run_that_recorded_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _papers(url)  # its run recorded no agenda
    line = one_error_line(invoke("learn", "checks", "--db", url, cwd=tmp_path))
    assert "pass --agenda AGENDA" in line


def test_run_schedules_a_deeper_review_of_a_paper_a_registered_case_reads(
    tmp_path: Path,
) -> None:
    register_script("roundsteam", Team())
    url = f"sqlite:///{tmp_path / 'r.db'}"
    (tmp_path / "case.yaml").write_text(CASE)
    with Store.open(url) as store:
        store.register_case(name="papers", path=str(tmp_path / "case.yaml"))
    agenda = tmp_path / "agenda.toml"
    agenda.write_text(AGENDA.replace("enabled = true", "enabled = false")
                      + LEARNING.replace("case_evidence = false", "case_evidence = true")
                      .replace("load_bearing_descendants = 2", "load_bearing_descendants = 99"))
    out = invoke("run", str(agenda), "--db", url, cwd=tmp_path)
    assert out.code == 0, out.err
    with Store.open(url) as store:
        (check,) = store.learning_checks()
        assert (check.trigger, check.case_name, check.metric, check.outcome) == (
            CheckTrigger.CASE_EVIDENCE, "papers", "db:papers.flawed_rate",
            CheckOutcome.SCHEDULED)
        assert store.artifact(check.paper_id).kind == Kind.PAPER
    assert f"deep review of paper {check.paper_id} scheduled" in out.out
    assert "autoalign rereview --sample 0" in out.out
