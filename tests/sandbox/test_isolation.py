"""The sandbox cuts the network, protects the filesystem and hides secrets, level by level."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from autoalign.errors import ConfigError
from autoalign.sandbox import (
    CODE_LEVELS,
    ISOLATION_ENV,
    IsolationLevel,
    available_isolation_levels,
    isolation_level,
)

from .helpers import names, run_at, where

_CONNECT = """
import ctypes, os, socket

PORT = {port}


def attempt():
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(("127.0.0.1", PORT))
        return "connected"
    except OSError as exc:
        return f"failed {{exc}}"
    finally:
        s.close()


print("direct:", attempt())
# Root code would try to rejoin the host's network namespace through pid 1's handle.
libc = ctypes.CDLL(None, use_errno=True)
try:
    fd = os.open("/proc/1/ns/net", os.O_RDONLY)
    rc = libc.setns(fd, 0x40000000)  # CLONE_NEWNET
    print("setns:", "ok" if rc == 0 else os.strerror(ctypes.get_errno()))
except OSError as exc:
    print("setns:", exc)
print("after setns:", attempt())
"""


def test_network_connect_fails_inside_but_works_from_parent(level: IsolationLevel) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        # The same connection from the parent succeeds: the port is live.
        with socket.create_connection(("127.0.0.1", port), timeout=3):
            conn, _ = listener.accept()
            conn.close()

        run = run_at(level, _CONNECT.format(port=port))
        listener.setblocking(False)
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            arrived = False
        else:
            conn.close()
            arrived = True

    assert run.isolation == level
    assert run.exit_code == 0, where(run)
    if level == "rlimits-only":
        # Documented: no network isolation at this level, and the record says so.
        assert "direct: connected" in run.stdout, where(run)
        assert "network" in names(run.not_enforced), where(run)
        pytest.skip("rlimits-only: the network is not isolated (the record says so)")
    assert "direct: failed" in run.stdout, where(run)
    assert "after setns: failed" in run.stdout, where(run)
    assert not arrived, f"a connection reached the parent's listener {where(run)}"
    assert "network" in names(run.enforced), where(run)
    print(f"isolation {level}: " + " | ".join(run.stdout.strip().splitlines()))


_WRITE = """
import json, os

results = {{}}
for target in {targets!r}:
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as fh:
            fh.write("escaped")
        results[target] = "written"
    except OSError as exc:
        results[target] = f"{{type(exc).__name__}} errno={{exc.errno}}"
try:
    results["read-secret"] = open({secret!r}).read()
except OSError as exc:
    results["read-secret"] = f"{{type(exc).__name__}}"
with open("inside.txt", "w") as fh:
    fh.write("inside the work folder")
print(json.dumps(results))
"""


def test_writing_outside_the_work_folder_fails(level: IsolationLevel, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    host_tmp = tmp_path / f"escape-{tag}.txt"
    shared_tmp = Path("/tmp") / f"autoalign-escape-{tag}.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    targets = [str(host_tmp), str(shared_tmp)]
    read_only = [os.path.join(sys.prefix, f"escape-{tag}.txt"), f"/etc/autoalign-escape-{tag}"]
    if level in CODE_LEVELS:  # only where they cannot land: elsewhere they would really be written
        targets += read_only

    try:
        run = run_at(level, _WRITE.format(targets=targets, secret=str(secret)))
        assert run.exit_code == 0, where(run)
        results = json.loads(run.stdout)
        assert [f.path for f in run.files] == ["inside.txt"], where(run)
        if level not in CODE_LEVELS:
            # Documented: we are root on the host filesystem; the record says it is not enforced.
            assert results[str(host_tmp)] == "written", where(run)
            assert host_tmp.read_text() == "escaped"
            assert results["read-secret"] == "host secret"
            assert "filesystem" in names(run.not_enforced), where(run)
            assert "filesystem" not in names(run.enforced)
            pytest.skip(
                f"{level}: code runs on the host filesystem, so writes outside the work folder "
                "cannot be prevented here; the run record says 'filesystem' is not enforced"
            )
        for name in read_only:
            assert results[name] == "OSError errno=30", f"{name}: {results} {where(run)}"
        for path in (host_tmp, shared_tmp, *map(Path, read_only)):
            assert not path.exists(), f"{path} reached the host {where(run)}"
        # The host's files outside the bound folders are not even visible.
        assert results["read-secret"] == "FileNotFoundError", where(run)
        assert "filesystem" in names(run.enforced), where(run)
        print(f"isolation {level}: {results}")
    finally:
        for path in (host_tmp, shared_tmp):
            path.unlink(missing_ok=True)


_ENV = "import json, os; print(json.dumps({'env': dict(os.environ), 'cwd': os.getcwd()}))"

SECRETS = {
    "OPENAI_API_KEY": "sk-test",
    "ANTHROPIC_API_KEY": "sk-ant-test",
    "GITHUB_TOKEN": "ghp-test",
    "SOME_SERVICE_SECRET": "shh-test",
    "DB_PASSWORD": "hunter2-test",
    "AUTOALIGN_DB": "sqlite:///secret-test.db",
    "GOOGLE_APPLICATION_CREDENTIALS": "/creds-test.json",
    "MY_HARMLESS_SETTING": "harmless-test",
}


def test_api_keys_from_the_parent_are_absent_inside(
    level: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)

    run = run_at(level, _ENV)

    assert run.exit_code == 0, where(run)
    seen = json.loads(run.stdout)
    env: dict[str, str] = seen["env"]
    for name, value in SECRETS.items():
        assert name not in env, f"{name} leaked {where(run)}"
        assert all(value not in v for v in env.values()), f"{value} leaked {where(run)}"
    assert env["HOME"] == seen["cwd"], where(run)
    assert "PATH" in env and "PYTHONPATH" in env
    print(f"isolation {level}: environment inside = {sorted(env)}")


def test_isolation_level_is_the_strongest_that_works(available: list[IsolationLevel]) -> None:
    assert available == available_isolation_levels()  # probed once, then cached
    assert available[-1] == "rlimits-only"
    assert isolation_level() == available[0]
    print(f"isolation: {available[0]} (available here: {available})")


def test_asking_for_an_unknown_level_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ISOLATION_ENV, "chroot")
    with pytest.raises(ConfigError, match="chroot"):
        isolation_level()


def test_the_former_level_name_netns_means_namespaces(
    available: list[IsolationLevel], monkeypatch: pytest.MonkeyPatch
) -> None:
    if "namespaces" not in available:
        pytest.skip("the namespaces level does not work on this machine")
    monkeypatch.setenv(ISOLATION_ENV, "netns")
    assert isolation_level() == "namespaces"
