"""Every entry of a record's `enforced` list holds, and every `not_enforced` entry really does not.

Each entry name maps to escape attempts (`escapes.ATTEMPTS`) that show it: at a level that
claims the entry, every attempt must be blocked; at a level that disclaims it, at least one must
get through (so the record does not undersell the level either).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.sandbox import ISOLATION_LEVELS, IsolationLevel, guarantees

from .escapes import ATTEMPTS
from .helpers import names

CHECKS: dict[str, list[str]] = {
    "wall_clock": ["sleeping_forever"],
    "cpu_time": ["infinite_loop"],
    "memory": ["memory_bomb"],
    "file_size": ["oversized_file"],
    "core_dumps": ["dump_core"],
    "environment": ["read_a_secret_variable"],
    "work_folder": ["find_a_used_work_folder"],
    "capabilities": ["raise_a_hard_limit"],
    "network": ["connect_to_a_host_port", "unix_socket_abstract"],
    "filesystem": [
        "write_package_source",
        "write_host_tmp",
        "write_host_dev_shm",
        "write_next_to_the_work_folder",
    ],
    "research_data": [
        "read_answer_key",
        "answer_key_in_a_read_only_folder",
        "read_and_alter_database",
    ],
    "process_tree": ["setsid_daemon_outlives_the_run"],
    "host_processes": ["signal_the_parent", "kill_a_host_process", "unix_socket_path"],
    "process_count": ["fork_bomb"],
    "disk_usage": ["fill_the_disk"],
}


def test_every_entry_of_every_level_has_a_check() -> None:
    for level in ISOLATION_LEVELS:
        enforced, not_enforced = guarantees(level)
        assert names(enforced) | names(not_enforced) <= set(CHECKS), level
        assert not names(enforced) & names(not_enforced), level
    assert {a for attempts in CHECKS.values() for a in attempts} <= set(ATTEMPTS)


@pytest.mark.parametrize("entry", list(CHECKS))
def test_record_entry_is_true(
    entry: str, level: IsolationLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enforced, not_enforced = guarantees(level)
    if entry not in names(enforced) | names(not_enforced):
        pytest.skip(f"{level} records nothing about {entry!r} here")
    claimed = entry in names(enforced)

    outcomes = []
    for name in CHECKS[entry]:
        (tmp_path / name).mkdir()
        outcomes.append(ATTEMPTS[name](level, tmp_path / name, monkeypatch))

    for outcome in outcomes:
        assert (outcome.run.enforced, outcome.run.not_enforced) == (enforced, not_enforced)
    if claimed:
        for name, outcome in zip(CHECKS[entry], outcomes, strict=True):
            assert outcome.blocked, f"{level} claims {entry!r}, but {name} got through: " + (
                outcome.why()
            )
    else:
        assert not all(o.blocked for o in outcomes), (
            f"{level} says {entry!r} is not enforced, but every attempt was blocked"
        )
    print(f"isolation {level}: {entry} {'enforced' if claimed else 'not enforced'}: verified")
