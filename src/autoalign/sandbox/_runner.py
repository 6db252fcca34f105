"""Running one job in a sandboxed child: limits, timeout, capture, measurement, produced files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import resource
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pydantic import ValidationError

from ._env import sandbox_env
from ._isolation import (
    SANDBOX_USER_ID,
    command,
    guarantees,
    is_root,
    isolation_level,
    package_root,
    refuse_code_at,
)
from ._isolation import python_executable as _python
from ._models import IsolationLevel, Job, KilledBy, Limits, ProducedFile, SandboxRun
from ._protocol import (
    EXIT_FILE_SIZE_LIMIT,
    EXIT_MEMORY_LIMIT,
    PROBE_BLOCKED,
    RESULT_FILE,
    USAGE_FD_ENV,
)

if TYPE_CHECKING:
    from autoalign.testbeds import ExperimentSpec

logger = logging.getLogger("autoalign.sandbox")

MIB = 1024 * 1024
MAX_LISTED_FILES = 1000
"""Produced files listed at most (sorted by path); more are left out of the record."""
MAX_RESULT_BYTES = 16 * MIB
SAMPLE_INTERVAL_S = 0.1
"""How often the process group's CPU time and resident set are read from /proc."""
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


# -- limits ---------------------------------------------------------------------------------


def _rlimits(limits: Limits) -> Callable[[], None]:
    """The preexec_fn that applies `limits` in the forked child before it execs.

    Values are computed here so the function run between fork and exec only calls setrlimit.
    """
    cpu = max(1, math.ceil(limits.cpu_s))
    memory = limits.memory_mb * MIB
    fsize = limits.file_size_mb * MIB
    setrlimit = resource.setrlimit

    def apply() -> None:
        setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        setrlimit(resource.RLIMIT_AS, (memory, memory))
        setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


# -- output capture -------------------------------------------------------------------------


class _Capture(threading.Thread):
    """Reads a pipe to its end, keeping the first and last bytes and counting all of them."""

    def __init__(self, stream: IO[bytes], keep: int) -> None:
        super().__init__(daemon=True)
        self._fd = stream.fileno()
        self._stream = stream
        self._keep_tail = keep // 2
        self._keep_head = keep - self._keep_tail
        self._head = bytearray()
        self._tail = b""
        self._lock = threading.Lock()
        self.total = 0

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            with self._lock:
                self.total += len(chunk)
                room = self._keep_head - len(self._head)
                if room > 0:
                    self._head += chunk[:room]
                if self._keep_tail:
                    self._tail = (self._tail + chunk)[-self._keep_tail :]
        with contextlib.suppress(OSError):
            self._stream.close()

    def text(self) -> str:
        with self._lock:
            keep = self._keep_head + self._keep_tail
            if self.total <= keep:
                data = (
                    bytes(self._head)
                    + self._tail[len(self._tail) - (self.total - len(self._head)) :]
                )
                return data.decode("utf-8", errors="replace")
            omitted = self.total - len(self._head) - len(self._tail)
            marker = f"\n[... {omitted} bytes omitted; {self.total} bytes in all ...]\n"
            return (
                self._head.decode("utf-8", errors="replace")
                + marker
                + self._tail.decode("utf-8", errors="replace")
            )


# -- measuring the process group ------------------------------------------------------------


@dataclass
class _Usage:
    cpu_s: float = 0.0
    max_rss_bytes: int = 0

    def sample(self, pgid: int) -> None:
        """Add up CPU time of the live members of `pgid` (and what they reaped); note the RSS."""
        cpu_ticks = 0
        try:
            entries = os.listdir("/proc")
        except OSError:
            return
        for name in entries:
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            fields = data[data.rfind(b")") + 2 :].split()
            if len(fields) < 22 or int(fields[2]) != pgid:
                continue
            cpu_ticks += sum(int(f) for f in fields[11:15])
            self.max_rss_bytes = max(self.max_rss_bytes, int(fields[21]) * _PAGE)
        self.cpu_s = max(self.cpu_s, cpu_ticks / _CLK_TCK)


@dataclass(frozen=True)
class _Exit:
    status: int
    rusage: resource.struct_rusage
    wall_killed: bool
    wall_s: float
    usage: _Usage


def _wait(proc: subprocess.Popen[bytes], wall_s: float) -> _Exit:
    """Wait for the child, sampling its group and killing it at the wall-clock limit."""
    pid = proc.pid
    start = time.monotonic()
    deadline = start + wall_s
    usage = _Usage()
    pidfd: int | None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    killed = False
    try:
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            usage.sample(pid)
            now = time.monotonic()
            if now >= deadline and not killed:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                killed = True
            timeout = SAMPLE_INTERVAL_S if killed else min(SAMPLE_INTERVAL_S, deadline - now)
            if pidfd is not None:
                select.select([pidfd], [], [], max(timeout, 0.0))
            else:
                time.sleep(max(timeout, 0.001))
        usage.sample(pid)
        wall = time.monotonic() - start
        # The leader is a zombie (not reaped), so its pid still names this group: kill what is
        # left of it (daemons, children that outlived it), then reap.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _, status, rusage = os.wait4(pid, 0)
    except BaseException:
        # Interrupted (KeyboardInterrupt, a failing sample): never leave the group running.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        proc.returncode = -signal.SIGKILL
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return _Exit(status=status, rusage=rusage, wall_killed=killed, wall_s=wall, usage=usage)


# -- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    exit_code: int | None
    killed_by: KilledBy | None
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    files: list[ProducedFile]
    result_text: str | None


def _spawn(kind: str, payload: str, limits: Limits, level: IsolationLevel) -> _Outcome:
    """Run `python -m autoalign.sandbox._child KIND` at `level`, feeding it `payload`."""
    data = payload.encode("utf-8")  # before anything starts: a bad payload raises here
    # The run's folder holds the work folder and, for `namespaces`, the new root's mount point.
    run_dir = Path(tempfile.mkdtemp(prefix="autoalign-sandbox-")).resolve()
    workdir = run_dir / "work"
    workdir.mkdir(mode=0o700)
    (run_dir / "root").mkdir(mode=0o700)
    if level == "namespaces" and is_root():
        os.chown(workdir, SANDBOX_USER_ID, SANDBOX_USER_ID)  # the job's unprivileged user
    try:
        python = _python()
        argv = command(
            level,
            workdir,
            [str(python), "-P", "-m", "autoalign.sandbox._child", kind],
            tmp_bytes=limits.memory_mb * MIB,
            processes=limits.processes,
            root_dir=run_dir / "root",
        )
        env = sandbox_env(workdir, package_root=package_root(), python_bin=python.parent)
        usage_r, usage_w = os.pipe()
        env[USAGE_FD_ENV] = str(usage_w)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=env,
                preexec_fn=_rlimits(limits),
                start_new_session=True,
                close_fds=True,
                pass_fds=(usage_w,),
            )
        except BaseException:
            os.close(usage_r)
            raise
        finally:
            os.close(usage_w)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        out = _Capture(proc.stdout, limits.max_output_bytes)
        err = _Capture(proc.stderr, limits.max_output_bytes)
        out.start()
        err.start()
        feeder = threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True)
        feeder.start()
        try:
            done = _wait(proc, limits.wall_s)
            reported = _read_usage(usage_r)
        finally:
            os.close(usage_r)
        for reader in (out, err, feeder):
            reader.join(timeout=5.0)
            if reader.is_alive():  # a process that left the group still holds the pipe
                logger.warning("sandbox output pipe still open after the run; not waiting")
        cpu = max(done.usage.cpu_s, done.rusage.ru_utime + done.rusage.ru_stime, reported.cpu_s)
        # Not done.rusage.ru_maxrss: Linux carries this (large) parent's resident set over the
        # fork into the child's high-water mark.
        rss = max(done.usage.max_rss_bytes, reported.max_rss_bytes)
        exit_code, killed_by = _interpret(done, level=level, limits=limits, cpu_s=cpu)
        return _Outcome(
            exit_code=exit_code,
            killed_by=killed_by,
            stdout=out.text(),
            stderr=err.text(),
            stdout_bytes=out.total,
            stderr_bytes=err.total,
            wall_s=round(done.wall_s, 3),
            cpu_s=round(cpu, 3),
            max_rss_mb=round(rss / MIB, 1),
            files=_list_files(workdir, keep_text=limits.max_file_text_bytes),
            result_text=_read_result(workdir),
        )
    finally:
        _remove(run_dir)


def _read_usage(fd: int) -> _Usage:
    """What the child reported about itself on exit (nothing, if it was killed)."""
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 4096):
            data += chunk
            if len(data) > 4096:
                break
    try:
        parsed = json.loads(data)
        return _Usage(cpu_s=float(parsed["cpu_s"]), max_rss_bytes=int(parsed["max_rss_kb"]) * 1024)
    except (ValueError, KeyError, TypeError):
        return _Usage()


def _feed(stdin: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        stdin.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        stdin.close()


def _interpret(
    done: _Exit, *, level: IsolationLevel, limits: Limits, cpu_s: float
) -> tuple[int | None, KilledBy | None]:
    """Exit code (negative for a signal) and which limit, if any, stopped the run."""
    if done.wall_killed:
        return None, "wall_timeout"
    code = os.waitstatus_to_exitcode(done.status)
    # bubblewrap's pid-1 reports a child killed by signal N as exit code 128 + N.
    if level == "bwrap" and 128 < code <= 128 + 64:
        code = -(code - 128)
    if code < 0:
        sig = -code
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= 0.9 * limits.cpu_s):
            return code, "cpu_limit"
        if sig == signal.SIGXFSZ:
            return code, "file_size_limit"
        return code, "signal"
    if code == EXIT_MEMORY_LIMIT:
        return code, "memory_limit"
    if code == EXIT_FILE_SIZE_LIMIT:
        return code, "file_size_limit"
    return code, None


def _list_files(workdir: Path, *, keep_text: int) -> list[ProducedFile]:
    """Regular files under `workdir` (symlinks are never followed), sorted, with their sha256."""
    found: list[str] = []
    for root, _dirs, names in os.walk(workdir):
        found += [os.path.join(root, n) for n in names]
    files: list[ProducedFile] = []
    for path in sorted(found)[:MAX_LISTED_FILES]:
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        digest = hashlib.sha256()
        size = 0
        head = b""
        with os.fdopen(fd, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                if size <= keep_text:
                    head += chunk[: keep_text + 1 - len(head)]
                size += len(chunk)
        text = None
        if 0 < size <= keep_text and b"\0" not in head:
            with contextlib.suppress(UnicodeDecodeError):
                text = head.decode("utf-8")
        rel = Path(path).relative_to(workdir).as_posix()
        files.append(ProducedFile(path=rel, size=size, sha256=digest.hexdigest(), text=text))
    return files


def _read_result(workdir: Path) -> str | None:
    path = workdir / RESULT_FILE
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RESULT_BYTES:
        return "<not a regular file of at most 16 MiB>"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        return fh.read().decode("utf-8", errors="replace")


def _remove(workdir: Path) -> None:
    try:
        shutil.rmtree(workdir)
    except OSError:
        # Code may have removed its own permissions; give them back and try once more.
        for root, dirs, _ in os.walk(workdir):
            for d in dirs:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(root, d), 0o700)
        shutil.rmtree(workdir, ignore_errors=True)
        if workdir.exists():
            logger.warning("could not remove sandbox work folder %s", workdir)


def _validate_result(text: str | None, kind: str) -> tuple[dict[str, object] | None, str | None]:
    if text is None:
        return None, ("the spec run wrote no result.json" if kind == "spec" else None)
    try:
        from autoalign.testbeds import ExperimentResult
    except ImportError as exc:
        return None, f"cannot validate result.json: autoalign.testbeds is unavailable ({exc})"
    try:
        record = ExperimentResult.model_validate_json(text)
    except ValidationError as exc:
        return None, f"result.json is not a valid ExperimentResult: {exc}"
    return record.model_dump(mode="json"), None


# -- public entry points ----------------------------------------------------------------------


def run_job(job: Job, *, isolation: IsolationLevel | None = None) -> SandboxRun:
    """Run one job in a sandboxed child process and return its record.

    Raises:
        ConfigError: `job` is agent-written code and the level cannot keep it from the research
            data (`rlimits-only`); the message says how to get a level that can.
    """
    level = isolation or isolation_level()
    if job.kind == "code":
        refuse_code_at(level)
    return execute(job, level)


def execute(job: Job, level: IsolationLevel) -> SandboxRun:
    """Run `job` at `level` without asking whether the level may run it (`run_job` asks)."""
    enforced, not_enforced = guarantees(level)
    outcome = _spawn(job.kind, job.payload, job.limits, level)
    result, result_error = _validate_result(outcome.result_text, job.kind)
    return SandboxRun(
        kind=job.kind,
        isolation=level,
        enforced=enforced,
        not_enforced=not_enforced,
        exit_code=outcome.exit_code,
        killed_by=outcome.killed_by,
        stdout=outcome.stdout,
        stderr=outcome.stderr,
        stdout_bytes=outcome.stdout_bytes,
        stderr_bytes=outcome.stderr_bytes,
        wall_s=outcome.wall_s,
        cpu_s=outcome.cpu_s,
        max_rss_mb=outcome.max_rss_mb,
        files=outcome.files,
        result=result,
        result_error=result_error,
        limits=job.limits,
    )


DEFAULT_LIMITS = Limits()


def run_code(source: str, *, limits: Limits = DEFAULT_LIMITS) -> SandboxRun:
    """Run worker-written Python source in the sandbox.

    The code runs as `__main__` in a fresh work folder (its current directory and HOME) and may
    report an experiment result with `autoalign.sandbox.report.report(result)`.

    Args:
        source: Python source text.
        limits: resource limits.

    Raises:
        ConfigError: only `rlimits-only` works here, which cannot protect the research from
            agent-written code; the message says how to get `namespaces` or `bwrap`.
    """
    return run_job(Job(kind="code", payload=source, limits=limits))


def run_spec(spec: ExperimentSpec, *, limits: Limits = DEFAULT_LIMITS) -> SandboxRun:
    """Run a structured experiment spec in the sandbox.

    The child validates the spec again, runs it with `autoalign.testbeds.run_spec` and writes the
    result record, which comes back validated in `SandboxRun.result`.
    """
    payload = spec.model_dump_json()
    return run_job(Job(kind="spec", payload=payload, limits=limits))


def probe(level: IsolationLevel) -> tuple[bool, str]:
    """Whether `level` works here and holds what it promises. Returns the verdict and what was
    seen.

    Python must run inside it. Except for `rlimits-only`, it must also fail to connect to a port
    this process listens on, to read a file this process wrote, and to write a file outside its
    work folder (this process checks that nothing arrived).
    """
    with tempfile.TemporaryDirectory(prefix="autoalign-probe-") as host, socket.socket() as lsn:
        planted = Path(host) / "planted.txt"
        planted.write_text("host data")
        target = Path(host) / "escaped.txt"
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(8)
        lsn.setblocking(False)
        plan = {"port": lsn.getsockname()[1], "read": str(planted), "write": str(target)}
        out = _spawn("probe", json.dumps(plan), Limits(wall_s=60, cpu_s=30), level)
        try:
            conn, _ = lsn.accept()
        except BlockingIOError:
            reached = False
        else:
            conn.close()
            reached = True
        escaped = target.exists()
    seen = f"exit={out.exit_code} stdout={out.stdout.strip()!r} stderr={out.stderr[-400:]!r}"
    if out.exit_code != 0:
        return False, seen
    if level == "rlimits-only":
        return True, seen
    try:
        attempts = json.loads(out.stdout)
    except ValueError:
        return False, seen
    blocked = all(
        str(attempts.get(k, "")).startswith(PROBE_BLOCKED) for k in ("connect", "read", "write")
    )
    return (blocked and not reached and not escaped), seen
