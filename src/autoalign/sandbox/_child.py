"""The program that runs inside the sandbox: `python -m autoalign.sandbox._child KIND`.

It reads its payload from standard input (so nothing but the job's own output lands in the work
folder) and then:

- `spec`: validates the experiment spec JSON, runs it with `autoalign.testbeds.run_spec` and
  writes the result record with `report()`;
- `code`: runs the worker's Python source as `__main__`; the code reports with `report()`;
- `probe`: tries to connect to a port, read a file and write a file the parent names, and prints
  what happened (the parent decides whether a level works).

Resource exhaustion is turned into documented exit codes (see `_protocol`) so the parent can say
which limit stopped the run. Only the standard library is imported before the payload runs.
"""

from __future__ import annotations

import errno
import json
import linecache
import os
import resource
import socket
import sys
import traceback
import types

from ._protocol import (
    EXIT_BAD_PAYLOAD,
    EXIT_FILE_SIZE_LIMIT,
    EXIT_MEMORY_LIMIT,
    PROBE_BLOCKED,
    USAGE_FD_ENV,
)

CODE_FILENAME = "<sandbox-code>"
"""Filename that tracebacks of worker code show."""


def _probe(payload: str) -> int:
    """Try what a level must prevent; print one JSON object: attempt -> what happened."""
    plan = json.loads(payload)
    seen: dict[str, str] = {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(3.0)
    try:
        sock.connect(("127.0.0.1", int(plan["port"])))
        seen["connect"] = "connected"
    except OSError as exc:
        seen["connect"] = f"{PROBE_BLOCKED} {exc.__class__.__name__}"
    finally:
        sock.close()
    try:
        with open(plan["read"]) as fh:
            seen["read"] = fh.read()
    except OSError as exc:
        seen["read"] = f"{PROBE_BLOCKED} {exc.__class__.__name__}"
    try:
        with open(plan["write"], "w") as fh:
            fh.write("escaped")
        seen["write"] = "written"
    except OSError as exc:
        seen["write"] = f"{PROBE_BLOCKED} {exc.__class__.__name__}"
    print(json.dumps(seen))
    return 0


def _run_code(source: str) -> int:
    lines = source.splitlines(keepends=True)
    linecache.cache[CODE_FILENAME] = (len(source), None, lines, CODE_FILENAME)
    try:
        code = compile(source, CODE_FILENAME, "exec")
    except SyntaxError as exc:
        traceback.print_exception(type(exc), exc, None)
        return EXIT_BAD_PAYLOAD
    # A real __main__ module, so the code's classes and functions pickle (multiprocessing).
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    except Exception as exc:
        if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.EFBIG):
            raise  # main() turns these into the limit's exit code
        # The traceback starts at the code's own frames, not at this runner's.
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        traceback.print_exception(type(exc), exc, tb)
        return 1
    return 0


def _run_spec(spec_json: str) -> int:
    # Imported here: only spec jobs pay for the testbeds (and NumPy) at start-up.
    from pydantic import ValidationError

    from autoalign.errors import ConfigError
    from autoalign.testbeds import ExperimentSpec, run_spec

    from .report import report

    try:
        spec = ExperimentSpec.model_validate_json(spec_json)
        spec.validate_against_registry()
    except (ValidationError, ConfigError) as exc:
        print(f"autoalign sandbox: invalid experiment spec:\n{exc}", file=sys.stderr)
        return EXIT_BAD_PAYLOAD
    report(run_spec(spec))
    return 0


def _take_usage_fd() -> int | None:
    """The usage pipe, hidden from the code: out of the environment, not inherited."""
    fd_text = os.environ.pop(USAGE_FD_ENV, "")
    if not fd_text.isdigit():
        return None
    try:
        os.set_inheritable(int(fd_text), False)
    except OSError:
        return None
    return int(fd_text)


def _peak_rss_kb() -> int:
    """This process's own peak resident set (VmHWM), in KiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _report_usage(fd: int | None) -> None:
    """Tell the parent this process's (and its reaped children's) CPU time and peak RSS."""
    if fd is None:
        return
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = {
        "cpu_s": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        # Not own.ru_maxrss: Linux carries the forking parent's resident set over fork and
        # exec into it, so it would report the (large) parent, not this process.
        "max_rss_kb": max(_peak_rss_kb(), kids.ru_maxrss),
    }
    try:
        os.write(fd, json.dumps(usage).encode())
        os.close(fd)
    except OSError:
        pass  # the code closed or reused the descriptor; the parent's own samples remain


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"spec", "code", "probe"}:
        print(
            "usage: python -m autoalign.sandbox._child {spec|code|probe} < payload", file=sys.stderr
        )
        return 2
    kind = argv[0]
    payload = sys.stdin.buffer.read().decode("utf-8", errors="strict")
    sys.stdin.close()
    usage_fd = _take_usage_fd()
    try:
        return _dispatch(kind, payload)
    finally:
        _report_usage(usage_fd)


def _dispatch(kind: str, payload: str) -> int:
    try:
        if kind == "probe":
            return _probe(payload)
        if kind == "code":
            return _run_code(payload)
        return _run_spec(payload)
    except MemoryError:
        # Print before anything else allocates much; the traceback itself may need memory.
        print("autoalign sandbox: MemoryError (memory limit reached)", file=sys.stderr)
        return EXIT_MEMORY_LIMIT
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            print(f"autoalign sandbox: {exc} (file size limit reached)", file=sys.stderr)
            return EXIT_FILE_SIZE_LIMIT
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
