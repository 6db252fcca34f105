"""Runs use one BLAS/OpenMP thread.

A testbed run works on arrays of a few hundred rows, where BLAS threads cost more than they give
(a scikit-learn fit is 4-8 times slower with two threads than with one), and ground truth already
keeps every core busy with a process each; threads on top of that only oversubscribe the CPUs.
"""

from __future__ import annotations

import functools
import sys
from contextlib import AbstractContextManager
from typing import Any

_NATIVE = ("numpy", "scipy", "sklearn")
"""Python packages that load the BLAS and OpenMP libraries a run may use."""


def single_threaded() -> AbstractContextManager[Any]:
    """A context in which BLAS and OpenMP use one thread (restored on exit)."""
    loaded = frozenset(name for name in _NATIVE if name in sys.modules)
    limiter: AbstractContextManager[Any] = _controller(loaded).limit(limits=1)
    return limiter


@functools.cache
def _controller(loaded: frozenset[str]) -> Any:
    # A controller knows the libraries loaded when it was made (making one takes ~1 ms, using
    # one ~10 µs), so there is one per set of loaded packages.
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]  # no types

    return ThreadpoolController()
