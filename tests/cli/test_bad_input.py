"""Bad input gets one clear line on stderr, exit code 1, and writes nothing.

Each test here is a case from the hardening review that used to print a traceback, be accepted
silently, or print an unclear message.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autoalign.cli import MAX_ID

from .helpers import files_under, invoke, one_error_line

AGENDA = """
[run]
name = "bad-input"
seed = {seed}

[models]
default = "scripted:schema"

[pipeline]
ideas_per_topic = 1
idea_framings = 1
proposals = 1

[[topics]]
name = "Reward hacking"
"""


def write_agenda(folder: Path, *, seed: int | str = 0, name: str = "agenda.toml") -> Path:
    path = folder / name
    path.write_text(AGENDA.format(seed=seed), encoding="utf-8")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- database URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("garbage", "cannot parse the database URL 'garbage'"),
        ("::::", "cannot parse the database URL '::::'"),
        ("mysql://user:secret@localhost/db", "driver for 'mysql'"),
        ("nosuch://x", "unknown database kind 'nosuch'"),
        ("sqlite:///file:r.db?mode=ro&uri=true", "SQLite URI filenames are not supported"),
        ("", "the database URL is empty"),
        ("   ", "the database URL is empty"),
    ],
)
@pytest.mark.parametrize("command", ["init", "run", "status", "show"])
def test_bad_database_url_is_one_line_and_writes_nothing(
    tmp_path: Path, url: str, expected: str, command: str
) -> None:
    agenda = write_agenda(tmp_path)
    args = [command, str(agenda)] if command == "run" else [command]
    before = files_under(tmp_path)
    line = one_error_line(invoke("--db", url, *args, cwd=tmp_path))
    assert expected in line
    assert "secret" not in line
    assert files_under(tmp_path) == before


def test_bad_database_url_from_the_environment(tmp_path: Path) -> None:
    line = one_error_line(invoke("status", cwd=tmp_path, env={"AUTOALIGN_DB": "::::"}))
    assert "cannot parse the database URL '::::'" in line
    assert files_under(tmp_path) == set()


def test_uri_filename_creates_no_stray_folder(tmp_path: Path) -> None:
    agenda = write_agenda(tmp_path)
    url = f"sqlite:///file:{tmp_path}/r.db?mode=ro&uri=true"
    one_error_line(invoke("--db", url, "run", str(agenda), cwd=tmp_path))
    assert files_under(tmp_path) == {"agenda.toml"}


def test_database_whose_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("a file, not a folder")
    agenda = write_agenda(tmp_path)
    line = one_error_line(
        invoke("--db", "sqlite:///notes/r.db", "run", str(agenda), cwd=tmp_path)
    )
    assert "notes is a file, not a folder" in line
    assert files_under(tmp_path) == {"notes", "agenda.toml"}


def test_database_path_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    line = one_error_line(invoke("--db", "sqlite:///db", "init", cwd=tmp_path))
    assert "is a folder" in line and not (tmp_path / "agenda.toml").exists()


@pytest.mark.parametrize("command", ["run", "status"])
def test_file_that_is_not_sqlite(tmp_path: Path, command: str) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("some notes that are not a database\n" * 200)
    before = digest(db)
    args = [command, str(write_agenda(tmp_path))] if command == "run" else [command]
    line = one_error_line(invoke("--db", f"sqlite:///{db}", *args, cwd=tmp_path))
    assert "not a SQLite database" in line
    assert digest(db) == before


def test_truncated_database(tmp_path: Path) -> None:
    whole = tmp_path / "whole.db"
    assert invoke("--db", f"sqlite:///{whole}", "init", "--agenda", "a.toml",
                  cwd=tmp_path).code == 0
    data = whole.read_bytes()
    db = tmp_path / "cut.db"
    db.write_bytes(data[: len(data) // 2])
    before = digest(db)
    line = one_error_line(invoke("--db", f"sqlite:///{db}", "status", cwd=tmp_path))
    assert "damaged" in line
    assert digest(db) == before


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Makes a file read-only for this process: by its mode, and for root (who may write any
    file) by the immutable attribute, which needs a filesystem and privileges that allow it."""
    made: list[Path] = []

    def make(path: Path) -> None:
        path.chmod(0o444)
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"root cannot make a file read-only here: {done.stderr!r}")
            made.append(path)

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_database(tmp_path: Path, read_only: Callable[[Path], None]) -> None:
    db = tmp_path / "r.db"
    assert invoke("--db", f"sqlite:///{db}", "init", cwd=tmp_path).code == 0
    read_only(db)
    before = digest(db)
    agenda = write_agenda(tmp_path, name="run.toml")
    line = one_error_line(invoke("--db", f"sqlite:///{db}", "run", str(agenda), cwd=tmp_path))
    assert "read-only" in line and "make the file and its folder writable" in line
    assert digest(db) == before


# -- reading commands create nothing ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["status"], ["show"], ["show", "runs"], ["show", "papers"], ["show", "artifacts"],
        ["show", "paper", "1"], ["show", "artifact", "1"], ["calibration"],
        ["--db", "sqlite:///no/such/folder/r.db", "status"],
    ],
)
def test_reading_commands_create_no_database(tmp_path: Path, args: list[str]) -> None:
    line = one_error_line(invoke(*args, cwd=tmp_path))
    assert "no research database at" in line and "autoalign init" in line
    assert files_under(tmp_path) == set()


def test_reading_an_empty_file_is_refused_and_leaves_it_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    line = one_error_line(invoke("--db", "sqlite:///empty.db", "status", cwd=tmp_path))
    assert "no research database at" in line
    assert (tmp_path / "empty.db").stat().st_size == 0


# -- arguments are checked before the database is created ---------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["study", "--seeds", "0"], "--seeds must be at least 2"),
        (["study", "nope"], "unknown testbed 'nope'"),
        (["study", "--workers", "0"], "--workers must be at least 1"),
        (["study", "--first-seed", "-1"], "--first-seed must be from 0"),
        (["study", "--ray-address", "auto"], "--ray-address 'auto' needs --backend ray"),
    ],
)
def test_study_checks_arguments_before_creating_the_database(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    assert expected in one_error_line(invoke(*args, cwd=tmp_path))
    assert files_under(tmp_path) == set()


def test_init_with_agenda_in_missing_folder_creates_nothing(tmp_path: Path) -> None:
    line = one_error_line(invoke("init", "--agenda", "no/such/dir/a.toml", cwd=tmp_path))
    assert "no/such/dir" in line and "does not exist" in line
    assert files_under(tmp_path) == set()


def test_seed_too_large_for_the_database_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert invoke("--db", f"sqlite:///{db}", "init", cwd=tmp_path).code == 0
    before = digest(db)
    agenda = write_agenda(tmp_path, seed=2**70, name="big.toml")
    line = one_error_line(invoke("--db", f"sqlite:///{db}", "run", str(agenda), cwd=tmp_path))
    assert "run.seed" in line and "4611686018427387904" in line
    assert digest(db) == before


@pytest.mark.parametrize(
    "value", ["99999999999999999999999", "-1", "0", "abc", str(MAX_ID + 1), "9" * 5000]
)
@pytest.mark.parametrize("what", ["paper", "artifact"])
def test_show_id_out_of_range_is_one_clear_line(tmp_path: Path, value: str, what: str) -> None:
    assert invoke("--db", "sqlite:///r.db", "init", cwd=tmp_path).code == 0
    line = one_error_line(invoke("--db", "sqlite:///r.db", "show", what, value, cwd=tmp_path))
    assert f"{what} id must be a positive integer up to {MAX_ID}" in line


def test_largest_id_is_looked_up(tmp_path: Path) -> None:
    assert invoke("--db", "sqlite:///r.db", "init", cwd=tmp_path).code == 0
    line = one_error_line(
        invoke("--db", "sqlite:///r.db", "show", "artifact", str(MAX_ID), cwd=tmp_path)
    )
    assert f"no artifact with id {MAX_ID}" in line


# -- the agenda ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[models.roles]\ncritic2 = "scripted:schema"\n',
         "unknown role 'critic2' in [models.roles]; known roles: proposer, judge, worker, "
         "critic-1, summarizer, critic-2"),
        ('[[topics]]\nname = "evil\\u001b]0;pwned\\u0007"\n',
         "topics[1].name: control character U+001B"),
        ('[[topics]]\nname = "a\\rb"\n', "topics[1].name: control character U+000D"),
        ('[[topics]]\nname = "b"\ndescription = "two\\nlines\\u001b[2J"\n',
         "topics[1].description: control character U+001B"),
    ],
)
def test_agenda_refused_before_the_database_exists(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "a.toml"
    path.write_text(AGENDA.format(seed=0) + text, encoding="utf-8")
    line = one_error_line(invoke("run", str(path), cwd=tmp_path))
    assert expected in line
    assert "\x1b" not in line and "\x07" not in line
    assert files_under(tmp_path) == {"a.toml"}


def test_huge_description_is_clipped_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(AGENDA.format(seed=0) + f'description = "{"x" * 5_000_000}"\n')
    line = one_error_line(invoke("run", str(path), cwd=tmp_path))
    assert "topics[0].description" in line and "(5000000 characters)" in line
    assert len(line) < 400
    assert files_under(tmp_path) == {"a.toml"}


# -- runs: exit codes, stderr, one line for a completed agenda ----------------------------------


def test_rerunning_a_completed_agenda_prints_one_line(tmp_path: Path) -> None:
    agenda = write_agenda(tmp_path)
    first = invoke("--db", "sqlite:///r.db", "run", str(agenda), cwd=tmp_path)
    assert first.code == 0 and "status completed" in first.out, first.err
    again = invoke("--db", "sqlite:///r.db", "run", str(agenda), cwd=tmp_path)
    assert again.code == 0 and again.err == ""
    lines = [line for line in again.out.splitlines() if line.strip()]
    assert len(lines) == 1 and "already completed; nothing to do" in lines[0], again.out
    assert "ran:" not in again.out


def test_stopped_run_exits_3_with_the_reason_on_stderr(tmp_path: Path) -> None:
    agenda = tmp_path / "a.toml"
    agenda.write_text(AGENDA.format(seed=0) + "[budget]\nmax_tokens = 10\n")
    out = invoke("--db", "sqlite:///r.db", "run", str(agenda), cwd=tmp_path)
    assert out.code == 3, (out.out, out.err)
    assert "status stopped" in out.out
    (line,) = out.err.splitlines()
    assert line.startswith("run 1 stopped:") and "budget" in line
    assert "budget" not in out.out


def test_an_unknown_testbed_in_a_topic_creates_no_database(tmp_path: Path) -> None:
    agenda = tmp_path / "agenda.toml"
    agenda.write_text('[[topics]]\nname = "x"\ntestbeds = ["nosuch"]\n', encoding="utf-8")
    line = one_error_line(invoke("--db", "sqlite:///r.db", "run", str(agenda), cwd=tmp_path))
    assert "topics[0].testbeds" in line and "unknown testbed 'nosuch'" in line
    assert files_under(tmp_path) == {"agenda.toml"}
