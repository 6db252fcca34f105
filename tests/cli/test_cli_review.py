"""`autoalign review list / show / decide` through the real CLI, on a hand-built DAG whose stored
text is hostile (terminal escapes, Rich markup, a script tag)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.cli import MAX_ID
from autoalign.review import REVIEWER_ENV_VAR
from autoalign.store import Store

from ..review.dag import Dag, build_dag
from .helpers import files_under, invoke, one_error_line
from .test_terminal_output import HOSTILE, RAW_BYTES

PAYLOAD = "<script>alert(1)</script>" + HOSTILE


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Dag]:
    """A database holding the DAG, a hostile paper, flaw and request reason."""
    monkeypatch.delenv(REVIEWER_ENV_VAR, raising=False)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store.open(url) as store:
        dag = build_dag(store, text=PAYLOAD)
        store.add_flaw(artifact_id=dag["paper"], category="overclaiming", severity="minor",
                       description=PAYLOAD, critic="c2.review", critic_version="1")
        store.add_judgment(artifact_id=dag["paper"], role="critic-2", decision="reject",
                           rationale="because " + PAYLOAD)
        store.add_review_request(artifact_id=dag["log_b"], reason="second " + PAYLOAD)
    return url, dag


def _assert_escaped(printed: str) -> None:
    for raw in RAW_BYTES:
        assert raw not in printed
    assert "\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m" in printed and "[bold]markup[/]" in printed
    assert "<script>alert(1)</script>" in printed  # shown as text, for a terminal


def test_list_orders_by_priority_and_escapes(db: tuple[str, Dag], tmp_path: Path) -> None:
    url, dag = db
    out = invoke("--db", url, "review", "list", cwd=tmp_path)
    assert out.code == 0, out.err
    lines = [line for line in out.out.splitlines() if "critic-2 escalated" in line
             or "second" in line]
    # The paper's request has a critical flaw upstream; log_b's has none.
    assert "critical" in lines[0] and "second" in lines[1]
    assert f"{dag['paper']} paper" in lines[0]
    for raw in RAW_BYTES:
        assert raw not in out.out
    assert "\\x1b[2J" in out.out


def test_show_prints_the_full_context_escaped(db: tuple[str, Dag], tmp_path: Path) -> None:
    url, dag = db
    out = invoke("--db", url, "review", "show", str(dag.request), cwd=tmp_path)
    assert out.code == 0, out.err
    _assert_escaped(out.out)
    text = out.out
    assert f"review request {dag.request}" in text and "open" in text
    assert f"flaw {dag.flaw} on artifact {dag['log_a']} (step_log) [critical] method_flaw" in text
    assert "critic c2.x v3" in text and "critic c2.review v1" in text
    # Worst severity first.
    assert text.index(f"flaw {dag.flaw} ") < text.index("[minor] overclaiming")
    assert "critic-2: reject" in text
    assert f"{dag['topic']} topic (ok) ← root" in text
    assert f"{dag['mixed_d']} sandbox_run (ok) ← derived_from {dag['log_a']}" in text
    assert f"logs: {dag['log_a']}, {dag['log_b']}" in text
    assert f"sandbox runs: {dag['mixed_d']}" in text
    assert "downstream: 0 artifact(s)" in text


def test_decide_confirm_taints_and_show_artifact_says_why(
    db: tuple[str, Dag], tmp_path: Path
) -> None:
    url, dag = db
    out = invoke("--db", url, "review", "decide", str(dag.request), "--decision", "confirm",
                 "--flaw", str(dag.flaw), "--comment", "real", "--severity", "major",
                 "--reviewer", "alice", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "recorded as label 1" in out.out and "resolved: confirm" in out.out
    assert f"artifact {dag['log_a']} marked flawed" in out.out
    tainted = sorted(dag[n] for n in ("step_c", "mixed_d", "paper"))
    assert f"tainted 3 artifact(s) downstream: {', '.join(map(str, tainted))}" in out.out

    shown = invoke("--db", url, "show", "artifact", str(dag["paper"]), cwd=tmp_path)
    assert shown.code == 0, shown.err
    assert "status: ok → tainted" in shown.out
    assert (f"downstream of artifact {dag['log_a']}, flaw {dag.flaw} confirmed (critical, "
            "corrected to major method_flaw, critic c2.x v3") in shown.out
    assert f"in review {dag.request} by alice" in shown.out
    flawed = invoke("--db", url, "show", "artifact", str(dag["log_a"]), cwd=tmp_path)
    assert "status: ok → flawed" in flawed.out

    again = invoke("--db", url, "review", "decide", str(dag.request), "--decision", "confirm",
                   "--flaw", str(dag.flaw), cwd=tmp_path, env={REVIEWER_ENV_VAR: "bob"})
    assert again.code == 0, again.err
    assert "by bob recorded as label 2" in again.out
    assert "was already flawed" in again.out and "tainted 0 artifact(s)" in again.out

    listed = invoke("--db", url, "review", "list", cwd=tmp_path)
    assert "critic-2 escalated" not in listed.out
    everything = invoke("--db", url, "review", "list", "--all", cwd=tmp_path)
    assert "resolved (confirm)" in everything.out


def test_dismiss_and_unsure(db: tuple[str, Dag], tmp_path: Path) -> None:
    url, dag = db
    out = invoke("--db", url, "review", "decide", str(dag.request), "--decision", "unsure",
                 "--reviewer", "alice", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "the request stays open" in out.out and "nothing tainted" in out.out
    out = invoke("--db", url, "review", "decide", str(dag.request), "--decision", "dismiss",
                 "--reviewer", "bob", "--comment", PAYLOAD, cwd=tmp_path)
    assert "resolved: dismiss" in out.out and "nothing tainted" in out.out
    shown = invoke("--db", url, "review", "show", str(dag.request), cwd=tmp_path)
    assert "label 1: unsure by alice" in shown.out and "label 2: dismiss by bob" in shown.out
    _assert_escaped(shown.out)
    paper = invoke("--db", url, "show", "artifact", str(dag["paper"]), cwd=tmp_path)
    assert "status: ok\n" in paper.out


def test_a_decision_needs_a_reviewer(db: tuple[str, Dag], tmp_path: Path) -> None:
    url, dag = db
    line = one_error_line(invoke("--db", url, "review", "decide", str(dag.request),
                                 "--decision", "confirm", cwd=tmp_path))
    assert "--reviewer NAME" in line and REVIEWER_ENV_VAR in line
    with Store.open(url) as store:
        assert store.review_labels() == []


@pytest.mark.parametrize("value", ["0", "-1", "abc", str(MAX_ID + 1)])
@pytest.mark.parametrize("command", ["show", "decide"])
def test_bad_ids_are_one_line(
    db: tuple[str, Dag], tmp_path: Path, value: str, command: str
) -> None:
    url, _ = db
    extra = ["--decision", "dismiss", "--reviewer", "a"] if command == "decide" else []
    line = one_error_line(invoke("--db", url, "review", command, value, *extra, cwd=tmp_path))
    assert f"review request id must be a positive integer up to {MAX_ID}" in line
    assert "autoalign review list --all" in line


def test_unknown_request_and_flaw_are_one_line(db: tuple[str, Dag], tmp_path: Path) -> None:
    url, dag = db
    line = one_error_line(invoke("--db", url, "review", "show", "999", cwd=tmp_path))
    assert "no review request with id 999" in line
    line = one_error_line(invoke("--db", url, "review", "decide", str(dag.request),
                                 "--decision", "confirm", "--flaw", "999", "--reviewer", "a",
                                 cwd=tmp_path))
    assert "no flaw with id 999" in line
    line = one_error_line(invoke("--db", url, "review", "decide", str(dag.request),
                                 "--decision", "confirm", "--flaw", "x", "--reviewer", "a",
                                 cwd=tmp_path))
    assert "flaw id must be a positive integer" in line


@pytest.mark.parametrize(
    "args",
    [["review", "list"], ["review", "show", "1"],
     ["review", "decide", "1", "--decision", "dismiss", "--reviewer", "a"]],
)
def test_review_commands_create_no_database(tmp_path: Path, args: list[str]) -> None:
    line = one_error_line(invoke(*args, cwd=tmp_path))
    assert "no research database at" in line
    assert files_under(tmp_path) == set()


def test_an_empty_queue_says_so(tmp_path: Path) -> None:
    assert invoke("--db", "sqlite:///r.db", "init", cwd=tmp_path).code == 0
    out = invoke("--db", "sqlite:///r.db", "review", "list", cwd=tmp_path)
    assert out.code == 0 and "no open review requests" in out.out
