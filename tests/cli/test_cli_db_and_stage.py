"""`--db` before or after the command name, and `run --stage` through the real CLI."""

from __future__ import annotations

from pathlib import Path

from autoalign.store import Store

from .helpers import invoke, one_error_line
from .test_cli import write_agenda


def test_db_is_accepted_before_and_after_the_command_name(tmp_path: Path) -> None:
    first, second, env_db = (f"sqlite:///{tmp_path}/{n}.db" for n in ("first", "second", "env"))
    assert invoke("--db", first, "init", "--agenda", "a.toml", cwd=tmp_path).code == 0
    assert invoke("init", "--agenda", "a.toml", "--db", second, cwd=tmp_path).code == 0
    assert (tmp_path / "first.db").exists() and (tmp_path / "second.db").exists()
    assert not (tmp_path / ".autoalign").exists()
    for args in (("--db", first, "status"), ("status", "--db", first),
                 ("show", "runs", "--db", first), ("show", "--db", first, "papers")):
        # Without the database given, these would fail: there is no default database here.
        done = invoke(*args, cwd=tmp_path)
        assert (done.code, done.err) == (0, ""), args
    assert invoke("status", cwd=tmp_path).code == 1
    # After the command wins over before it and over the environment.
    missing = f"sqlite:///{tmp_path}/missing.db"
    line = one_error_line(invoke("--db", first, "status", "--db", missing, cwd=tmp_path))
    assert "missing.db" in line
    line = one_error_line(invoke("status", "--db", missing, cwd=tmp_path,
                                 env={"AUTOALIGN_DB": first}))
    assert "missing.db" in line
    # The environment alone still works, and an explicit --db before wins over it.
    assert invoke("status", cwd=tmp_path, env={"AUTOALIGN_DB": first}).code == 0
    line = one_error_line(invoke("--db", missing, "status", cwd=tmp_path,
                                 env={"AUTOALIGN_DB": env_db}))
    assert "missing.db" in line


def test_run_stage_reruns_one_stage_of_the_latest_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    agenda = write_agenda(tmp_path)
    done = invoke("run", str(agenda), "--db", url, cwd=tmp_path)
    assert done.code == 0, done.err
    again = invoke("run", str(agenda), "--stage", "writeup", "--db", url, cwd=tmp_path)
    assert again.code == 0, again.err
    assert "stage re-run, round 1" in again.out
    with Store.open(url) as store:
        (run,) = store.list_runs()
        papers = store.artifacts(run_id=run.id, kind="paper")
        assert [p.step_key for p in papers] == ["writeup/paper", "writeup/paper@1"]
        assert {a.stage for a in store.artifacts(run_id=run.id) if "@" in (a.step_key or "")} == {
            "writeup"
        }
    line = one_error_line(invoke("run", str(agenda), "--stage", "nope", "--db", url, cwd=tmp_path))
    assert "no stage 'nope'; the stages are: propose, execute, writeup" in line
