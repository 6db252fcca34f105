"""What the parent and the sandboxed child agree on: exit codes, environment names, file names.

Standard library only: the child imports this before anything else.
"""

from __future__ import annotations

RESULT_FILE = "result.json"
"""Name of the experiment result record the child writes in its work folder."""

RESULT_ENV = "AUTOALIGN_SANDBOX_RESULT"
"""Environment variable holding the absolute path `report()` writes the result record to."""

USAGE_FD_ENV = "AUTOALIGN_SANDBOX_USAGE_FD"
"""Environment variable naming the pipe the child writes its own resource usage to on exit.

The parent cannot always measure it (bubblewrap's pid 1 does not pass its children's usage on);
the parent takes the larger of this report and its own samples."""

EXIT_MEMORY_LIMIT = 201
"""The child's exit code when its code died of `MemoryError` (RLIMIT_AS reached)."""

EXIT_FILE_SIZE_LIMIT = 202
"""The child's exit code when a write went past RLIMIT_FSIZE (`OSError` EFBIG)."""

EXIT_BAD_PAYLOAD = 203
"""The child's exit code when the payload is not a valid spec, or source that does not compile."""

EXIT_SETUP_FAILED = 204
"""The exit code when the `namespaces` jail could not be built (see `_nsinit.py`)."""

PROBE_BLOCKED = "blocked"
"""What the probe prints for an attempt that failed (`probe` jobs report each attempt)."""
