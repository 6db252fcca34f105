"""The one layout of autoalign's caches on disk, shared by everything that caches files.

    $AUTOALIGN_CACHE_DIR (default ~/.cache/autoalign)
    ├── models/   the embedded model's GGUF, assembled from its package on first use
    └── truth/    testbed ground truth, one JSON file per testbed, version and seed count

The sandbox hides the whole root from sandboxed code (the ground truth is the answer key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

CACHE_DIR_ENV = "AUTOALIGN_CACHE_DIR"
"""Environment variable naming the cache root; empty or unset means `DEFAULT_CACHE_ROOT`."""
DEFAULT_CACHE_ROOT = Path("~/.cache/autoalign")
"""The cache root when `$AUTOALIGN_CACHE_DIR` is not set (`~` expanded when used)."""

CacheKind = Literal["models", "truth"]
"""The caches under the root, one folder each."""


def cache_root() -> Path:
    """The root of every cache: `$AUTOALIGN_CACHE_DIR`, else `~/.cache/autoalign`."""
    env = os.environ.get(CACHE_DIR_ENV)
    return Path(env).expanduser() if env else DEFAULT_CACHE_ROOT.expanduser()


def cache_folder(kind: CacheKind, *, root: Path | None = None) -> Path:
    """The folder of one cache: `kind` under `root` (default `cache_root()`)."""
    return (cache_root() if root is None else root) / kind
