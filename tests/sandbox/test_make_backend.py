"""`make_backend` picks a backend by name; the sandbox works without Ray installed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autoalign.errors import ConfigError
from autoalign.sandbox import LocalBackend, make_backend


def test_local_is_the_default() -> None:
    backend = make_backend(workers=2)
    try:
        assert isinstance(backend, LocalBackend) and backend.workers == 2
    finally:
        backend.close()


def test_a_ray_address_needs_the_ray_backend() -> None:
    expected = r"Ray address \('auto'\) is set but the sandbox backend is 'local'"
    with pytest.raises(ConfigError, match=expected):
        make_backend("local", ray_address="auto")


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox backend 'dask'; use one of local, ray"):
        make_backend("dask")  # type: ignore[arg-type]


def test_the_ray_backend_without_ray_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, as when not installed
    with pytest.raises(ConfigError) as caught:
        make_backend("ray")
    assert "pip install 'autoalign[ray]'" in str(caught.value)


def test_the_sandbox_imports_without_importing_ray() -> None:
    code = (
        "import sys, autoalign.sandbox, autoalign.pipeline, autoalign.cli\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
