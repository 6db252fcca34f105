"""`autoalign rereview` through the real CLI (the re-review itself is tested with scripted models
in tests/pipeline/test_rereview.py)."""

from __future__ import annotations

from pathlib import Path

from autoalign.models import register_script
from autoalign.store import Store

from ..pipeline.conftest import Team
from .helpers import invoke


def test_rereview_with_nothing_to_review_says_so_and_records_an_empty_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    Store.open(url).close()
    out = invoke("--db", url, "rereview", "--sample", "2", "--seed", "7", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "no paper to re-review" in out.out
    with Store.open(url) as store:
        (run,) = store.list_runs()
        assert run.status == "completed" and run.config["seed"] == 7


def test_a_negative_sample_is_a_usage_error(tmp_path: Path) -> None:
    out = invoke("--db", f"sqlite:///{tmp_path / 'r.db'}", "rereview", "--sample", "-1",
                 cwd=tmp_path)
    assert out.code == 2 and "--sample" in out.err


AGENDA = """
[run]
name = "rounds"

[models]
default = "scripted:roundsteam"

[pipeline]
ideas_per_topic = 1
idea_framings = 1
proposals = 1

[execution]
max_iterations = 1
steps_per_round = 1
candidates = 2
judges = 1

[critic2]
instances = 2
investigate = 1
revision_rounds = 0

[crosscheck]
enabled = true
papers = ["accepted", "revision_requested", "rejected", "draft"]

[[topics]]
name = "Reward hacking"
testbeds = ["reward_hacking"]
"""


def test_run_rounds_then_rereview_from_the_command_line(tmp_path: Path) -> None:
    # The pipeline tests' scripted team (every role answers sensibly): `scripted:schema`'s
    # random answers can leave a round with no usable research, which stops a run.
    register_script("roundsteam", Team())
    url = f"sqlite:///{tmp_path / 'r.db'}"
    agenda = tmp_path / "agenda.toml"
    agenda.write_text(AGENDA)
    out = invoke("run", str(agenda), "--rounds", "2", "--rereview", "1", "--db", url,
                 cwd=tmp_path)
    assert out.code == 0, out.err
    assert "crosscheck" in out.out
    with Store.open(url) as store:
        pipeline, rereview = store.list_runs()
        assert pipeline.status == "completed" and rereview.status == "completed"
        keys = {a.step_key for a in store.artifacts(run_id=pipeline.id, stage="crosscheck")}
        assert "crosscheck/calibration" in keys and "crosscheck/calibration@1" in keys
        assert len(store.artifacts(run_id=rereview.id, kind="rereview")) >= 1
    assert "re-review run" in out.out
    both = invoke("run", str(agenda), "--rounds", "2", "--stage", "writeup", "--db", url,
                  cwd=tmp_path)
    assert both.code == 1 and "--rounds" in both.err
