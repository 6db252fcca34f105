"""`autoalign show run ID` and `autoalign screens list / lift` through the real CLI, on a run
whose two selected projects were screened from each other and tried to read across the screen."""

from __future__ import annotations

from pathlib import Path

from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.store import Store

from ..pipeline.conftest import Team
from ..pipeline.test_run import agenda
from ..pipeline.test_select import SCREEN, _reader
from .helpers import invoke


async def test_show_run_and_screens_print_what_stage_1_decided(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    team = Team(overrides={"Portfolio": lambda _prompt: SCREEN})
    register_script("cliselteam", team)
    with Store.open(url) as store:
        register_script("cliselreader", _reader(store, []))
        summary = await run_agenda(agenda(
            "scripted:cliselteam", projects={"max_projects": 2},
            models={"roles": {"worker": "scripted:cliselreader"}},
        ), store=store)
        assert summary.run.status == "completed", summary.run.stop_reason
        (screen,) = store.screens(run_id=summary.run.id)
        (selection,) = store.artifacts(run_id=summary.run.id, kind="selection")
        chosen = selection.content_json["proposal_ids"]

    out = invoke("--db", url, "show", "run", str(summary.run.id), cwd=tmp_path)
    assert out.code == 0, out.err
    assert f"selected 2 project(s) {chosen} (cap 2): 40000 estimated tokens" in out.out
    assert f"bundle {chosen}" in out.out
    assert (f"screen {screen.id} between {screen.project_a} and {screen.project_b} (active)"
            in out.out)
    assert "2 refused read(s), 2 appeal(s)" in out.out
    assert out.out.count("refused: proposal") == 2 and "via read_result" in out.out
    # The proposals table (the funnel above it has a "selected" row too): revisions, scores.
    rows = [line for line in out.out.splitlines()
            if "selected" in line and "│" in line and "Proposal on" in line]
    assert len(rows) == 2 and all(" 1 " in r and " 6 " in r for r in rows)

    listed = invoke("--db", url, "screens", "list", cwd=tmp_path)
    assert listed.code == 0 and "active" in listed.out
    lifted = invoke("--db", url, "screens", "lift", str(screen.id), "--reason", "review 1",
                    cwd=tmp_path)
    assert lifted.code == 0, lifted.err
    with Store.open(url) as store:
        assert not store.screen(screen.id).active
    missing = invoke("--db", url, "screens", "lift", "999", "--reason", "x", cwd=tmp_path)
    assert missing.code == 1 and "no information screen with id 999" in missing.err
