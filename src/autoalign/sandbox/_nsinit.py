"""The first process of a `namespaces` sandbox: builds the jail, then runs the job inside it.

Run as `python -I -S _nsinit.py CONFIG_JSON` (standard library only, nothing imported from the
environment). Three processes take part:

- the *outer* process (this one, started by the runner) creates new user, mount, pid, network,
  ipc, uts and cgroup namespaces, maps its user and forks;
- the *init* process, pid 1 of the new pid namespace, builds a minimal root (a tmpfs into which
  the system, the interpreter and autoalign are bind-mounted read-only, the work folder
  read-write, a private /tmp and /dev/shm and a fresh /proc), hides the research data, moves into
  that root with `pivot_root`, forks the job and waits for it;
- the *job* drops every capability (as root: also becomes an unprivileged user), sets its process
  limit and execs the sandboxed program.

When the job ends, init ends, and the kernel kills every process left in the pid namespace (a
`setsid` daemon included). The outer process then ends the way the job did (same exit code, or
the same signal), so the runner reads it as if it had started the job itself.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import signal
import socket
import stat
import sys
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 0x2
ST_RELATIME = 0x1000

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522

EXIT_SETUP_FAILED = 204
"""Exit code when the jail could not be built (same value as `_protocol.EXIT_SETUP_FAILED`)."""

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """Building the jail failed."""


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    rc = _libc.mount(
        src.encode() if src else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    _check(rc, f"mount {src or fstype} on {target}")


def _prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


# -- the outer process ------------------------------------------------------------------------


def _map_ids(root_host: bool, user_id: int) -> None:
    """Give the new user namespace its uid and gid maps.

    An unprivileged user maps its own uid and gid to root inside. Host root also maps itself to
    root inside (so init can read the folders it bind-mounts) and maps `user_id` inside to the
    same id outside: the job switches to it, so the kernel's per-user process limit binds it
    (that limit never binds the host's root). Only a privileged process outside may write such a
    map, so a helper forked before the unshare writes it.
    """
    flags = (
        CLONE_NEWUSER
        | CLONE_NEWNS
        | CLONE_NEWPID
        | CLONE_NEWNET
        | CLONE_NEWIPC
        | CLONE_NEWUTS
        | CLONE_NEWCGROUP
    )
    if not root_host:
        uid, gid = os.getuid(), os.getgid()
        _check(_libc.unshare(flags), "unshare")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1\n")
        _write("/proc/self/gid_map", f"0 {gid} 1\n")
        return
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    me = os.getpid()
    helper = os.fork()
    if helper == 0:  # still in the host's namespaces, with root's privileges
        code = 1
        try:
            if os.read(go_r, 1) == b"1":
                _write(f"/proc/{me}/uid_map", f"0 0 1\n{user_id} {user_id} 1\n")
                _write(f"/proc/{me}/gid_map", f"0 0 1\n{user_id} {user_id} 1\n")
                os.write(done_w, b"1")
                code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    os.close(done_w)
    try:
        _check(_libc.unshare(flags), "unshare")
    except SetupError:
        os.write(go_w, b"0")
        os.waitpid(helper, 0)
        raise
    os.write(go_w, b"1")
    ok = os.read(done_r, 1) == b"1"
    os.waitpid(helper, 0)
    if not ok:
        raise SetupError("could not write the user namespace's uid and gid maps")


def outer(config: dict[str, Any]) -> int:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the runner's thread went away: so do we
    if os.getppid() == 1:
        return EXIT_SETUP_FAILED
    root_host = os.geteuid() == 0
    _map_ids(root_host, int(config["user_id"]))
    status_r, status_w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(status_r)
        code = EXIT_SETUP_FAILED
        try:
            code = _init(config, status_w, root_host=root_host)
        except BaseException as exc:  # report and leave: never fall through into the outer code
            print(f"autoalign sandbox: setup failed: {exc}", file=sys.stderr, flush=True)
        os._exit(code)
    os.close(status_w)
    _, init_status = os.waitpid(init, 0)
    data = b""
    while chunk := os.read(status_r, 64):
        data += chunk
    if not data:
        return os.waitstatus_to_exitcode(init_status) or EXIT_SETUP_FAILED
    code = os.waitstatus_to_exitcode(int(data))
    if code < 0:  # end the way the job ended: by the same signal
        sys.stdout.flush()
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [-code])
        return 128 - code
    return code


# -- init: pid 1 of the sandbox ----------------------------------------------------------------


def _keep_flags(path: str) -> int:
    """Mount flags a bind remount must keep (the kernel refuses to clear locked ones)."""
    f_flag = os.statvfs(path).f_flag
    flags = f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if f_flag & ST_RELATIME:
        flags |= MS_RELATIME
    elif not f_flag & MS_NOATIME:
        flags |= MS_STRICTATIME
    return flags


def _submounts(target: str) -> list[str]:
    """Mount points at or below `target`, from /proc/self/mountinfo, shallowest first."""
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == target or point.startswith(target.rstrip("/") + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"))


def _bind(src: str, dest: str, *, writable: bool) -> None:
    """Bind `src` at `dest` (made if missing), read-only unless `writable`, never suid/dev."""
    if os.path.isdir(src):
        os.makedirs(dest, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if not os.path.exists(dest):
            os.close(os.open(dest, os.O_WRONLY | os.O_CREAT, 0o644))
    _mount(src, dest, None, MS_BIND | MS_REC)
    extra = MS_NOSUID | (0 if writable else MS_RDONLY)
    for point in _submounts(dest):
        flags = MS_BIND | MS_REMOUNT | extra | _keep_flags(point)
        if stat.S_ISCHR(os.stat(point).st_mode):
            flags &= ~MS_NODEV  # the device nodes of /dev must stay usable
        else:
            flags |= MS_NODEV
        _mount(None, point, None, flags)


def _build_root(config: dict[str, Any]) -> str:
    new = str(config["root"])
    tmp_bytes = int(config["tmp_bytes"])
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for link, target in dict(config["symlinks"]).items():
        os.symlink(target, new + link)
    os.makedirs(new + "/dev")
    _mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=1m")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", f"{new}/dev/{name}", writable=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{new}/dev/{name}")
    for private in ("/dev/shm", "/tmp", "/var/tmp", "/run"):
        os.makedirs(new + private)
        _mount("tmpfs", new + private, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={tmp_bytes}")
    for src, dest in list(config["ro_binds"]):
        _bind(src, new + dest, writable=False)
    workdir = str(config["workdir"])
    _bind(workdir, new + workdir, writable=True)
    for hidden in list(config["hidden"]):
        _hide(new + str(hidden))
    os.makedirs(new + "/proc")
    _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount(None, new, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(new)
    _check(_libc.pivot_root(b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    return workdir


def _hide(path: str) -> None:
    """Cover a path the research data lives at, if it can be seen inside at all."""
    if os.path.isdir(path):
        _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0000,size=4k")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, MS_BIND)


def _drop_privileges(*, root_host: bool, user_id: int, processes: int) -> None:
    """Leave the job with no capability, no way to gain one and (as root) an unprivileged uid."""
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last_cap = int(fh.read())
    for cap in range(last_cap + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    if root_host:
        os.setgroups([])
        os.setresgid(user_id, user_id, user_id)
        os.setresuid(user_id, user_id, user_id)
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all zero, twice
    _check(_libc.capset(header, data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _init(config: dict[str, Any], status_w: int, *, root_host: bool) -> int:
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    workdir = _build_root(config)
    socket.sethostname("sandbox")
    argv = [str(a) for a in list(config["argv"])]
    user_id = int(config["user_id"])
    processes = int(config["processes"])
    job = os.fork()
    if job == 0:
        try:
            os.chdir(workdir)
            _drop_privileges(root_host=root_host, user_id=user_id, processes=processes)
            os.execve(argv[0], argv, dict(os.environ))
        except BaseException as exc:
            print(f"autoalign sandbox: could not start the job: {exc}", file=sys.stderr)
        os._exit(EXIT_SETUP_FAILED)
    # As pid 1, reap every orphan until the job itself ends; then leave, which ends the rest.
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == job:
            os.write(status_w, str(status).encode())
            return 0


def main(argv: list[str]) -> int:
    try:
        return outer(json.loads(argv[0]))
    except (SetupError, OSError) as exc:
        print(f"autoalign sandbox: setup failed: {exc}", file=sys.stderr)
        return EXIT_SETUP_FAILED


if __name__ == "__main__":
    if platform.system() != "Linux":
        sys.exit(EXIT_SETUP_FAILED)
    sys.exit(main(sys.argv[1:]))
