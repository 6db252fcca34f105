"""`openai:<model>`: the OpenAI API, or any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

Structured output uses the JSON-schema response format (pydantic-ai `NativeOutput`), which
OpenAI and the compatible servers turn into constrained decoding. The SDK's own retries are off
(`max_retries=0`) so that `ModelClient` alone decides what to retry and how long to wait.
An ask without tools goes the direct path (`_direct.OpenAIDirect`): the same request, sent with
the same SDK client, without a pydantic-ai agent.
"""

from __future__ import annotations

import functools
import ssl
from typing import TYPE_CHECKING, ClassVar

import httpx2

from ._config import Price, ProviderConfig
from ._direct import OpenAIDirect
from ._pool import cheap_idle_checks
from ._prices import builtin_price
from ._registry import ModelProvider, ProviderModel, missing_sdk, register_provider

if TYPE_CHECKING:
    from pydantic_ai.models.openai import OpenAIChatModel


@register_provider
class OpenAIModels(ModelProvider):
    """OpenAI Chat Completions, at api.openai.com or at `ProviderConfig.base_url`."""

    name: ClassVar[str] = "openai"
    default_key_env: ClassVar[str | None] = "OPENAI_API_KEY"
    sdk: ClassVar[tuple[str, str] | None] = ("openai", "openai")
    # vLLM and other OpenAI-compatible servers batch concurrent requests; OpenAI's own rate
    # limits allow hundreds of requests a minute from the first paid tier.
    default_concurrency: ClassVar[int] = 32
    # The direct path, which takes a run's plain asks, needs neither pydantic-ai's model for the
    # SDK nor the SDK's resource modules; those are loaded later (`warm_agent_path`).
    warm_modules: ClassVar[tuple[str, ...]] = (
        "openai", "openai.types.chat", "pydantic_ai.providers.openai"
    )
    transport: ClassVar[httpx2.AsyncBaseTransport | None] = None
    """HTTP transport of every client built; None for the network (tests set a MockTransport)."""

    def key_optional(self, config: ProviderConfig) -> bool:
        # Self-hosted servers usually take no key; one named explicitly must still be set.
        return config.base_url is not None

    def price(self, model: str, config: ProviderConfig) -> Price | None:
        if model in config.prices:
            return config.prices[model]
        if config.base_url is not None:
            return None  # OpenAI's prices say nothing about a self-hosted server
        return builtin_price("openai", model)

    def warm(self) -> None:
        super().warm()
        _tls()

    def warm_agent_path(self) -> None:
        # Building a model imports (and caches) what the agent path's first build needs beyond
        # the modules themselves: the SDK's chat resources and genai-prices' table. This one
        # never sends a request.
        try:
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider
        except ImportError:
            return
        client = AsyncOpenAI(
            api_key="warm-up", base_url="http://127.0.0.1:9/v1", max_retries=0,
            http_client=DefaultAsyncHttpxClient(verify=_tls()),  # not a TLS context of its own
        )
        OpenAIChatModel("warm-up", provider=OpenAIProvider(openai_client=client))

    def build(self, model: str, config: ProviderConfig, *, seed: int) -> ProviderModel:
        try:
            from openai import AsyncOpenAI
            from pydantic_ai.providers.openai import OpenAIProvider
        except ImportError as exc:
            raise missing_sdk(self.name, module="openai", extra="openai") from exc
        from openai import DefaultAsyncHttpxClient

        # The SDK's own HTTP client, with the process's TLS context: building one per client
        # (certificates read and parsed each time) cost about 20 ms of each model's first ask.
        # Its pool checks idle connections with one poll each (`_pool`).
        if self.transport is None:
            http = DefaultAsyncHttpxClient(verify=_tls())
            cheap_idle_checks(http)
        else:
            http = httpx2.AsyncClient(transport=self.transport)
        client = AsyncOpenAI(
            base_url=config.base_url,
            # a placeholder for keyless servers: the SDK refuses to start without one
            api_key=self.api_key(config) or "no-key",
            max_retries=0,
            timeout=config.timeout_s,
            http_client=http,
        )
        provider = OpenAIProvider(openai_client=client)

        @functools.cache
        def chat() -> OpenAIChatModel:
            from pydantic_ai.models.openai import OpenAIChatModel

            return OpenAIChatModel(model, provider=provider)

        return ProviderModel(
            build=chat,
            output_mode="native",
            close=client.close,
            direct=OpenAIDirect(client, model, provider, chat=chat),
        )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS context every client of the process verifies servers with: what the SDK's
    default client builds (the default CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), once."""
    return httpx2.create_ssl_context()
