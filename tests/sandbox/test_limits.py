"""Runaway code is stopped at each limit, and the record says which limit stopped it."""

from __future__ import annotations

import os
import resource
import time
import uuid

from autoalign.sandbox import IsolationLevel, Limits, run_code

from .helpers import alive_with_arg, run_at, where


def test_runaway_loop_is_killed_at_its_cpu_limit(level: IsolationLevel) -> None:
    run = run_at(level, "while True:\n    pass\n", limits=Limits(cpu_s=1, wall_s=20))

    assert run.killed_by == "cpu_limit", where(run)
    assert run.exit_code is not None and run.exit_code < 0, where(run)
    assert 0.9 <= run.cpu_s <= 3.0, where(run)
    assert run.wall_s < 10, where(run)
    print(f"isolation {level}: cpu loop stopped after {run.cpu_s}s cpu, {run.wall_s}s wall")


def test_sleep_loop_is_killed_at_its_wall_limit(level: IsolationLevel) -> None:
    run = run_at(
        level,
        "import time\nprint('sleeping', flush=True)\nwhile True:\n    time.sleep(0.05)\n",
        limits=Limits(wall_s=1, cpu_s=30),
    )

    assert run.killed_by == "wall_timeout", where(run)
    assert run.exit_code is None, where(run)
    assert 1.0 <= run.wall_s < 3.0, where(run)
    assert run.cpu_s < 0.9, where(run)
    assert run.stdout == "sleeping\n", where(run)  # output before the kill is kept
    print(f"isolation {level}: sleep loop stopped after {run.wall_s}s wall")


def test_wall_limit_kills_the_whole_process_tree(level: IsolationLevel) -> None:
    marker = f"{uuid.uuid4().int % 10**6 + 10**6}.{os.getpid()}"  # a unique sleep length
    code = (
        "import subprocess, time\n"
        f"subprocess.Popen(['sleep', '{marker}'])\n"
        "print('spawned', flush=True)\n"
        "time.sleep(60)\n"
    )
    run = run_at(level, code, limits=Limits(wall_s=1.5))

    assert run.killed_by == "wall_timeout", where(run)
    assert run.stdout == "spawned\n", where(run)
    deadline = time.monotonic() + 2
    while alive_with_arg(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive_with_arg(marker) == [], f"a grandchild outlived the run {where(run)}"
    print(f"isolation {level}: child and grandchild killed at the wall limit")


def test_memory_bomb_is_stopped_without_harming_the_parent(level: IsolationLevel) -> None:
    parent_limit = resource.getrlimit(resource.RLIMIT_AS)
    # A parent with a large resident set: a child's measured peak must not include it (Linux
    # carries the parent's high-water mark over fork and exec into the child's ru_maxrss).
    ballast = bytearray(400 * 1024 * 1024)
    code = (
        "chunks = []\n"
        "while True:\n"
        "    chunks.append(bytearray(16 * 1024 * 1024))\n"  # zero-filled: really resident
    )
    run = run_at(level, code, limits=Limits(memory_mb=256, wall_s=20))

    assert run.killed_by == "memory_limit", where(run)
    assert "MemoryError" in run.stderr, where(run)
    assert 100 <= run.max_rss_mb <= 256, where(run)
    # The parent is untouched: its own limit is unchanged and it can still allocate freely.
    assert resource.getrlimit(resource.RLIMIT_AS) == parent_limit
    assert len(bytearray(300 * 1024 * 1024)) == 300 * 1024 * 1024
    del ballast
    print(f"isolation {level}: memory bomb stopped at {run.max_rss_mb} MiB resident")


def test_file_larger_than_the_file_size_limit_is_stopped(level: IsolationLevel) -> None:
    code = (
        "with open('big.bin', 'wb') as fh:\n"
        "    for _ in range(4):\n"
        "        fh.write(b'x' * 1024 * 1024)\n"
        "print('wrote it all')\n"
    )
    run = run_at(level, code, limits=Limits(file_size_mb=1))

    assert run.killed_by == "file_size_limit", where(run)
    assert "wrote it all" not in run.stdout, where(run)
    assert [(f.path, f.size) for f in run.files] == [("big.bin", 1024 * 1024)], where(run)
    print(f"isolation {level}: file stopped at {run.files[0].size} bytes")


def test_a_clean_exit_is_not_blamed_on_a_limit(best: IsolationLevel) -> None:
    run = run_code("import sys\nprint('bye')\nsys.exit(3)\n")

    assert run.exit_code == 3 and run.killed_by is None, where(run)
    assert not run.ok
    print(f"isolation {best}: exit code passed through")
