"""`anthropic:<model>`: Claude through the Anthropic API.

Structured output is a forced tool call (pydantic-ai `ToolOutput`). The SDK's own retries are
off (`max_retries=0`) so that `ModelClient` alone decides what to retry. Anthropic takes no seed.
"""

from __future__ import annotations

from typing import ClassVar

import httpx2

from ._config import Price, ProviderConfig
from ._prices import builtin_price
from ._registry import ModelProvider, ProviderModel, missing_sdk, register_provider


@register_provider
class AnthropicModels(ModelProvider):
    """The Anthropic Messages API, at api.anthropic.com or at `ProviderConfig.base_url`."""

    name: ClassVar[str] = "anthropic"
    default_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    sdk: ClassVar[tuple[str, str] | None] = ("anthropic", "anthropic")
    # Anthropic's lowest tier allows about 50 requests a minute; 16 in flight keeps a run
    # fast from the second tier on, and a 429 is retried after its Retry-After.
    default_concurrency: ClassVar[int] = 16
    warm_modules: ClassVar[tuple[str, ...]] = (
        "anthropic", "pydantic_ai.models.anthropic", "pydantic_ai.providers.anthropic"
    )
    transport: ClassVar[httpx2.AsyncBaseTransport | None] = None
    """HTTP transport of every client built; None for the network (tests set a MockTransport)."""

    def price(self, model: str, config: ProviderConfig) -> Price | None:
        if model in config.prices:
            return config.prices[model]
        if config.base_url is not None:
            return None
        return builtin_price("anthropic", model)

    def build(self, model: str, config: ProviderConfig, *, seed: int) -> ProviderModel:
        try:
            from anthropic import AsyncAnthropic
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider
        except ImportError as exc:
            raise missing_sdk(self.name, module="anthropic", extra="anthropic") from exc
        http = None if self.transport is None else httpx2.AsyncClient(transport=self.transport)
        client = AsyncAnthropic(
            api_key=self.api_key(config),
            base_url=config.base_url,
            max_retries=0,
            timeout=config.timeout_s,
            http_client=http,
        )
        claude = AnthropicModel(model, provider=AnthropicProvider(anthropic_client=client))
        return ProviderModel(build=lambda: claude, output_mode="tool", close=client.close)
