"""Isolation levels: which ones this machine has, the command that enters each, what each enforces.

Levels, strongest first:

- `bwrap`: bubblewrap with new network, pid, ipc and uts namespaces, every capability dropped,
  the system, the interpreter and autoalign mounted read-only, a private /tmp, and the work folder
  the only writable host path; the sandbox dies with its parent.
- `namespaces`: the same jail built without bubblewrap, from the kernel's user, mount, pid,
  network, ipc, uts and cgroup namespaces (`_nsinit.py`); also a per-run process limit.
- `rlimits-only`: resource limits and a scrubbed environment, nothing else. It cannot keep code
  away from the research data, so it runs experiment specs only: agent-written code is refused.

A level counts as available only after a probe ran Python inside it and saw that it could neither
connect to a port the parent listens on, nor read a file the parent planted, nor write outside its
work folder (for `rlimits-only`, after Python merely ran).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import autoalign
from autoalign.errors import ConfigError

from .._cache import cache_root
from .._environment import DB_ENV_VAR, DEFAULT_DB_DIR
from ._models import ISOLATION_LEVELS, IsolationLevel

logger = logging.getLogger("autoalign.sandbox")

ISOLATION_ENV = "AUTOALIGN_SANDBOX_ISOLATION"
"""Set to `namespaces` or `rlimits-only` to run below the strongest level (tests, debugging)."""

LEVEL_ALIASES: dict[str, IsolationLevel] = {"netns": "namespaces"}
"""Former level names still accepted in `AUTOALIGN_SANDBOX_ISOLATION`."""

CODE_LEVELS: tuple[IsolationLevel, ...] = ("bwrap", "namespaces")
"""Levels that keep code from the research data, the host and its processes: only these run
agent-written code."""

SANDBOX_USER_ID = 65534
"""The unprivileged uid and gid (`nobody`) sandboxed code runs as under `namespaces` when the
runner is root, so the kernel's per-user process limit binds it."""

NO_CODE_LEVEL_HINT = (
    "install bubblewrap (`apt-get install -y bubblewrap`), or enable unprivileged user "
    "namespaces (`sysctl -w kernel.unprivileged_userns_clone=1`, and on Ubuntu "
    "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`)"
)

SYSTEM_DIRS = ("/usr", "/etc")
SYSTEM_MAYBE_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def python_executable() -> Path:
    """The interpreter sandboxed code runs with: this one (so it sees the same packages)."""
    return Path(sys.executable)


def package_root() -> Path:
    """The folder `autoalign` is imported from (its parent), put on the child's PYTHONPATH."""
    return Path(autoalign.__file__).resolve().parent.parent


def is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def _interpreter_paths() -> tuple[str, ...]:
    """Folders the interpreter needs to run and import, from a fresh interpreter's own sys.path."""
    out = subprocess.run(
        [str(python_executable()), "-P", "-c", "import json,sys;print(json.dumps(sys.path))"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"},
        timeout=60,
        check=True,
    )
    paths = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).parent),
        str(Path(sys.executable).resolve().parent.parent),
        *json.loads(out.stdout),
    ]
    return tuple(paths)


def _ro_binds() -> list[tuple[str, str]]:
    """(host folder, path inside) pairs to mount read-only, none under one already mounted.

    Each folder appears at its real path; one reached through a symlink (a venv under a linked
    folder) also appears at the linked path, so the interpreter runs under the name it has here.
    """
    linked_system = tuple(p for p in SYSTEM_MAYBE_LINKS if os.path.islink(p))
    pairs: dict[str, str] = {}
    for raw in (*_interpreter_paths(), str(package_root())):
        if not raw:
            continue
        real = os.path.realpath(raw)
        for dest in (real, os.path.abspath(raw)):
            if not _under(dest, linked_system):  # those resolve into /usr inside the sandbox
                pairs.setdefault(dest, real)
    binds: list[tuple[str, str]] = []
    for dest in sorted(pairs, key=lambda p: (p.count("/"), p)):
        src = pairs[dest]
        if dest == "/" or not os.path.isdir(src):
            continue
        if _under(dest, (*SYSTEM_DIRS, *(d for _, d in binds))):
            continue
        binds.append((src, dest))
    return binds


def _under(path: str, folders: tuple[str, ...]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _setpriv() -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return []
    # Root drops every capability, so it cannot raise its own hard limits. The pdeathsig kills
    # the sandboxed process if the thread that started it dies.
    caps = ["--bounding-set=-all", "--inh-caps=-all"]
    return [setpriv, "--no-new-privs", *caps, "--pdeathsig", "KILL", "--"]


def research_data_paths() -> list[str]:
    """Where the research data may live, to hide it should a read-only folder hold it.

    The testbeds' answer key (the cache root, `$AUTOALIGN_CACHE_DIR` or `~/.cache/autoalign`),
    the default database folder (`.autoalign` here) and a SQLite `$AUTOALIGN_DB` with its WAL
    files. The jail shows nothing of the host but the system, the interpreter, autoalign and the
    work folder, so these matter only when one of those folders holds them.
    """
    paths = [cache_root(), Path.cwd() / DEFAULT_DB_DIR]
    url = os.environ.get(DB_ENV_VAR, "")
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        db = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return sorted({os.path.realpath(p) for p in paths})


def _hidden_under(binds: list[tuple[str, str]]) -> list[str]:
    bound = (*SYSTEM_DIRS, *(dest for _, dest in binds))
    return [p for p in research_data_paths() if os.path.exists(p) and _under(p, bound)]


def _symlinks() -> dict[str, str]:
    return {p: os.readlink(p) for p in SYSTEM_MAYBE_LINKS if os.path.islink(p)}


def command(
    level: IsolationLevel,
    workdir: Path,
    argv: list[str],
    *,
    tmp_bytes: int,
    processes: int,
    root_dir: Path,
) -> list[str]:
    """The argv that runs `argv` at `level`, with `workdir` its only writable host folder.

    `root_dir` is an empty folder the `namespaces` level mounts its new root on.
    """
    if level == "bwrap":
        return [*_bwrap(workdir, tmp_bytes=tmp_bytes), *argv]
    if level == "namespaces":
        ro_binds = [(p, p) for p in SYSTEM_DIRS if os.path.isdir(p)]
        ro_binds += [
            (p, p) for p in SYSTEM_MAYBE_LINKS if os.path.isdir(p) and not os.path.islink(p)
        ]
        ro_binds += _ro_binds()
        config = {
            "root": str(root_dir),
            "workdir": str(workdir),
            "ro_binds": ro_binds,
            "symlinks": _symlinks(),
            "hidden": _hidden_under(ro_binds),
            "tmp_bytes": tmp_bytes,
            "processes": processes,
            "user_id": SANDBOX_USER_ID,
            "argv": argv,
        }
        init = Path(__file__).with_name("_nsinit.py")
        return [str(python_executable()), "-I", "-S", str(init), json.dumps(config)]
    if is_root():
        return [*_setpriv(), *argv]
    # Without root, setpriv cannot touch the bounding set; keep no_new_privs and pdeathsig.
    keep = [p for p in _setpriv() if not p.startswith(("--bounding-set", "--inh-caps"))]
    return [*keep, *argv]


def _bwrap(workdir: Path, *, tmp_bytes: int) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise ConfigError("bubblewrap is not installed; `apt-get install -y bubblewrap`")
    args = [
        bwrap,
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--cap-drop",
        "ALL",
    ]
    for path in SYSTEM_DIRS:
        if os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in SYSTEM_MAYBE_LINKS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    args += ["--size", str(tmp_bytes), "--tmpfs", "/dev/shm"]
    binds = _ro_binds()
    for src, dest in binds:
        args += ["--ro-bind", src, dest]
    for hidden in _hidden_under(binds):
        args += ["--tmpfs", hidden] if os.path.isdir(hidden) else ["--ro-bind", "/dev/null", hidden]
    args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--"]
    return args


_COMMON = [
    "wall_clock: the whole process group is killed (SIGKILL) at wall_s",
    "cpu_time: RLIMIT_CPU, per process (SIGXCPU, then SIGKILL a second later)",
    "memory: RLIMIT_AS (address space), per process",
    "file_size: RLIMIT_FSIZE, per file",
    "core_dumps: RLIMIT_CORE=0",
    "environment: allowlist only; no *_KEY, *_TOKEN, *_SECRET, *_PASSWORD, credentials, "
    "AUTOALIGN_DB",
    "work_folder: fresh and empty, HOME points at it, deleted after the run",
]

_JAIL = [
    "network: new network namespace; only its own loopback (abstract Unix sockets too)",
    "filesystem: a new root holding only the system, the interpreter and autoalign (read-only) "
    "and the work folder (the only writable host path); /tmp, /dev/shm, /var/tmp and /run are "
    "private and discarded",
    "research_data: the testbeds' answer key, the research database and the home folder are not "
    "in the sandbox's root (and are covered if a read-only folder holds them)",
    "process_tree: new pid namespace; every descendant (setsid daemons too) dies with the run",
    "host_processes: new pid and ipc namespaces; no host process can be seen or signalled, and "
    "no host socket path is visible",
]


def guarantees(level: IsolationLevel) -> tuple[list[str], list[str]]:
    """What `level` enforces and what it does not, each as `name: how` / `name: why`."""
    root = is_root()
    enforced = list(_COMMON)
    not_enforced = ["disk_usage: only single files are limited, not the work folder's total"]
    if level in CODE_LEVELS:
        enforced.append("capabilities: all dropped, no_new_privs; limits cannot be raised")
        enforced += _JAIL
    if level == "namespaces":
        who = f"uid {SANDBOX_USER_ID}" if root else "the user"
        enforced.append(
            f"process_count: RLIMIT_NPROC in the run's own user namespace (as {who}): at most "
            "Limits.processes processes and threads"
        )
    else:
        not_enforced.append(
            "process_count: no limit (RLIMIT_NPROC counts per user and does not bind root)"
        )
    if level == "rlimits-only":
        if _setpriv() and root:
            enforced.append("capabilities: all dropped, no_new_privs; limits cannot be raised")
        elif root:
            not_enforced.append(
                "capabilities: code runs as root with every capability (setpriv missing) and "
                "can raise its own limits"
            )
        who = "root" if root else "an unprivileged user"
        not_enforced += [
            "network: the host's network is reachable",
            f"filesystem: the host filesystem, writable wherever {who} can write",
            "research_data: the answer key and the research database are readable; agent-written "
            "code is therefore refused at this level, only experiment specs run",
            "process_tree: a descendant that leaves the process group (setsid), or whose "
            "parent process dies, may outlive the run",
            "host_processes: host processes can be signalled and host sockets reached",
        ]
    return enforced, not_enforced


# -- detection ------------------------------------------------------------------------------

_lock = threading.Lock()
_probed: dict[IsolationLevel, bool] = {}


def _probe(level: IsolationLevel) -> bool:
    from ._runner import probe  # the probe is a real sandboxed run

    with _lock:
        if level not in _probed:
            try:
                ok, detail = probe(level)
            except (OSError, ConfigError, subprocess.SubprocessError) as exc:
                ok, detail = False, f"{exc.__class__.__name__}: {exc}"
            _probed[level] = ok
            log = logger.info if ok else logger.warning
            log("sandbox isolation %r %s: %s", level, "works" if ok else "fails", detail)
        return _probed[level]


def available_isolation_levels() -> list[IsolationLevel]:
    """The isolation levels that work on this machine, strongest first (probed once each)."""
    levels = [level for level in ISOLATION_LEVELS if level == "rlimits-only" or _probe(level)]
    if not levels or levels[0] != "bwrap":
        _warn_once(levels[0] if levels else "rlimits-only")
    return levels


def isolation_level() -> IsolationLevel:
    """The isolation level sandboxed runs get here: the strongest that works.

    Each level is probed once per process (see the module's docstring).
    `AUTOALIGN_SANDBOX_ISOLATION` may ask for a weaker level (`netns` is read as `namespaces`).

    Raises:
        ConfigError: the variable names an unknown level, or one that does not work here.
    """
    raw = os.environ.get(ISOLATION_ENV, "").strip()
    if not raw:
        return available_isolation_levels()[0]
    wanted = LEVEL_ALIASES.get(raw, raw)
    for level in ISOLATION_LEVELS:
        if level != wanted:
            continue
        if level == "rlimits-only" or _probe(level):
            return level
        hint = (
            "install bubblewrap (`apt-get install -y bubblewrap`)"
            if level == "bwrap"
            else NO_CODE_LEVEL_HINT.split(", or ", 1)[1]
        )
        raise ConfigError(
            f"{ISOLATION_ENV}={raw!r}, but that isolation level does not work on this "
            f"machine; {hint}, or unset the variable (the log says why the probe failed)"
        )
    raise ConfigError(
        f"{ISOLATION_ENV}={raw!r} is not an isolation level; use one of "
        f"{', '.join(ISOLATION_LEVELS)} or unset it"
    )


def refuse_code_at(level: IsolationLevel) -> None:
    """Refuse to run agent-written code at a level that cannot protect the research.

    Raises:
        ConfigError: `level` is not one of `CODE_LEVELS`.
    """
    if level in CODE_LEVELS:
        return
    raise ConfigError(
        f"refusing to run agent-written code at sandbox isolation {level!r}: it could read the "
        "testbeds' answer key and the research database, write the host filesystem and outlive "
        f"its run. To get a level that can run it, {NO_CODE_LEVEL_HINT}. Experiment specs still "
        "run at this level."
    )


_warned: set[str] = set()


def _warn_once(level: str) -> None:
    if level in _warned:
        return
    _warned.add(level)
    if level == "rlimits-only":
        message = (
            "SANDBOX IS WEAK: neither bubblewrap nor the kernel's namespaces work here, so "
            "sandboxed runs have resource limits only; experiment specs run, agent-written code "
            f"is refused. To fix it, {NO_CODE_LEVEL_HINT}."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        logger.warning(message)
    else:
        logger.info("sandbox runs at isolation %r (bubblewrap is not installed)", level)
