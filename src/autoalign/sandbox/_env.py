"""The environment a sandboxed process gets: a small allowlist, never a secret."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from ._protocol import RESULT_ENV, RESULT_FILE

PASSED_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Variables copied from the parent when set: locale, and the OpenBLAS settings some processors
need to compute correctly."""

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"

_SECRET = re.compile(r"(_KEY|_TOKEN|_SECRET|_PASSWORD)$|CREDENTIAL|^AUTOALIGN_DB$", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a variable of this name must never reach sandboxed code."""
    return bool(_SECRET.search(name))


def sandbox_env(
    workdir: Path, *, package_root: Path, python_bin: Path, parent: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The complete environment of a sandboxed process.

    Built from nothing: HOME is the work folder, PATH holds the interpreter's folder and the
    system's, PYTHONPATH holds the folder autoalign is imported from, a few locale and OpenBLAS
    variables are copied, and thread pools are held to one thread each (the backend already runs
    one job per core). Any name that looks like a secret is dropped even if listed here.
    """
    source = os.environ if parent is None else parent
    env = {
        "PATH": f"{python_bin}:{SAFE_PATH}",
        "HOME": str(workdir),
        "PYTHONPATH": str(package_root),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        RESULT_ENV: str(workdir / RESULT_FILE),
    }
    env.setdefault("LANG", "C.UTF-8")
    for name in PASSED_THROUGH:
        if name in source:
            env[name] = source[name]
    return {k: v for k, v in env.items() if not is_secret_name(k)}
