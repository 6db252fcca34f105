"""Isolation levels: which ones this machine has, the command that enters each, what each enforces.

Levels, strongest first:

- `bwrap`: bubblewrap with new network, pid, ipc and uts namespaces, every capability dropped,
  the system, the interpreter and autoalign mounted read-only, a private /tmp, and the work folder
  the only writable host path; the sandbox dies with its parent.
- `netns`: `unshare --net` (with `--map-root-user` when not root) and `setpriv` dropping every
  capability; the filesystem is the host's.
- `rlimits-only`: resource limits and a scrubbed environment, nothing else.

A level counts as available only after a probe ran Python inside it and saw a connection to a
port the parent listens on fail (for `rlimits-only`, after Python merely ran).
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

from ._models import ISOLATION_LEVELS, IsolationLevel

logger = logging.getLogger("autoalign.sandbox")

ISOLATION_ENV = "AUTOALIGN_SANDBOX_ISOLATION"
"""Set to `netns` or `rlimits-only` to run below the strongest level (for tests and debugging)."""

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
    # Root (real, or mapped by --map-root-user) drops every capability, so it can neither raise
    # its own hard limits nor setns() back into the host's network namespace. The pdeathsig
    # kills the sandboxed process if the thread that started it dies (bwrap has its own).
    caps = ["--bounding-set=-all", "--inh-caps=-all"]
    return [setpriv, "--no-new-privs", *caps, "--pdeathsig", "KILL", "--"]


def command_prefix(level: IsolationLevel, workdir: Path, *, tmp_bytes: int) -> list[str]:
    """The argv that enters `level` before the interpreter's own argv."""
    if level == "bwrap":
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
        for src, dest in _ro_binds():
            args += ["--ro-bind", src, dest]
        args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--"]
        return args
    if level == "netns":
        unshare = shutil.which("unshare")
        if unshare is None:
            raise ConfigError("`unshare` (util-linux) is not installed")
        return [unshare, "--net", *([] if is_root() else ["--map-root-user"]), "--", *_setpriv()]
    if is_root():
        return _setpriv()
    # Without root, setpriv cannot touch the bounding set; keep no_new_privs and pdeathsig.
    return [p for p in _setpriv() if not p.startswith(("--bounding-set", "--inh-caps"))]


def guarantees(level: IsolationLevel) -> tuple[list[str], list[str]]:
    """What `level` enforces and what it does not, each as `name: how` / `name: why`."""
    root = is_root()
    caps_dropped = level == "bwrap" or bool(_setpriv())
    who = "root" if root else "an unprivileged user"
    enforced = [
        "wall_clock: the whole process group is killed (SIGKILL) at wall_s",
        "cpu_time: RLIMIT_CPU, per process (SIGXCPU, then SIGKILL a second later)",
        "memory: RLIMIT_AS (address space), per process",
        "file_size: RLIMIT_FSIZE, per file",
        "core_dumps: RLIMIT_CORE=0",
        "environment: allowlist only; no *_KEY, *_TOKEN, *_SECRET, *_PASSWORD, credentials, "
        "AUTOALIGN_DB",
        "work_folder: fresh and empty, HOME points at it, deleted after the run",
    ]
    not_enforced = [
        "process_count: no limit (RLIMIT_NPROC counts per user and does not bind root)",
        "disk_usage: only single files are limited, not the work folder's total",
    ]
    if caps_dropped:
        enforced.append("capabilities: all dropped, no_new_privs; limits cannot be raised")
    elif root:
        not_enforced.append(
            "capabilities: code runs as root with every capability (setpriv missing) and can "
            "raise its own limits"
        )
    if level == "bwrap":
        enforced.append("network: new network namespace; only its own empty loopback")
    elif level == "netns":
        enforced.append("network: new network namespace without interfaces (loopback down)")
    else:
        not_enforced.append("network: the host's network is reachable")
    if level == "bwrap":
        enforced += [
            "filesystem: system, interpreter and autoalign read-only; the work folder is the "
            "only writable host path; /tmp is private and discarded",
            "process_tree: new pid namespace; every descendant dies with the run",
        ]
    else:
        not_enforced += [
            f"filesystem: the host filesystem, writable wherever {who} can write",
            "process_tree: a descendant that leaves the process group (setsid), or whose "
            "parent process dies, may outlive the run",
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

    Each level is probed once per process by running Python inside it and trying to connect to a
    port the parent listens on. `AUTOALIGN_SANDBOX_ISOLATION` may ask for a weaker level.

    Raises:
        ConfigError: the variable names an unknown level, or one that does not work here.
    """
    wanted = os.environ.get(ISOLATION_ENV, "").strip()
    if not wanted:
        return available_isolation_levels()[0]
    for level in ISOLATION_LEVELS:
        if level != wanted:
            continue
        if level == "rlimits-only" or _probe(level):
            return level
        hint = "install bubblewrap (`apt-get install -y bubblewrap`)" if level == "bwrap" else ""
        raise ConfigError(
            f"{ISOLATION_ENV}={wanted!r}, but that isolation level does not work on this "
            f"machine; {hint or 'unset the variable'} (the log says why the probe failed)"
        )
    raise ConfigError(
        f"{ISOLATION_ENV}={wanted!r} is not an isolation level; use one of "
        f"{', '.join(ISOLATION_LEVELS)} or unset it"
    )


_warned: set[str] = set()


def _warn_once(level: str) -> None:
    if level in _warned:
        return
    _warned.add(level)
    if level == "rlimits-only":
        message = (
            "SANDBOX IS WEAK: neither bubblewrap nor `unshare --net` works here, so sandboxed "
            "code runs with resource limits only: it can reach the network and write the host "
            "filesystem. Install bubblewrap (`apt-get install -y bubblewrap`)."
        )
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        logger.warning(message)
    else:
        logger.warning(
            "sandbox runs at isolation %r: no network, but the host filesystem is writable; "
            "install bubblewrap (`apt-get install -y bubblewrap`) for a read-only filesystem",
            level,
        )
