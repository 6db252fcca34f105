"""The provider registry: one small decorator, one typed table, chosen by the id's prefix."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from pydantic_ai.models import Model

from ..errors import ConfigError, MissingCredentialsError, UnknownProviderError
from ._config import Budget, ModelsConfig, Price, ProviderConfig, parse_model_id

if TYPE_CHECKING:
    from ._direct import DirectModel

OutputMode = Literal["native", "tool"]
"""How structured output is asked for: the provider's JSON-schema mode, or a forced tool call."""


@dataclass(frozen=True, kw_only=True)
class ProviderModel:
    """A pydantic-ai model built for one model id, and how to drive and release it."""

    build: Callable[[], Model]
    """Builds the pydantic-ai model the agent path drives, on the first ask that takes it (see
    `model`); its SDK's own retries are off, so `ModelClient` governs retrying."""
    output_mode: OutputMode
    """Which pydantic-ai output marker to wrap the output type in."""
    prepare: Callable[[], Awaitable[None]] | None = None
    """Awaited before each call (e.g. loads the embedded model once); may raise `ModelError`."""
    close: Callable[[], Awaitable[None]] | None = None
    """Awaited by `ModelClient.aclose` to release connections."""
    tools: bool = True
    """Whether the model can call tools; an ask's tools are left out for one that cannot."""
    direct: DirectModel | None = None
    """The direct path for plain structured-output asks (no tools) through the same SDK client,
    without a pydantic-ai agent; None: every ask takes the agent path."""

    @functools.cached_property
    def model(self) -> Model:
        """The pydantic-ai model, built once. A provider with a direct path builds it only when
        an ask needs the agent path: building one loads modules and data (the SDK's resource
        modules, genai-prices' table) that a direct ask never uses."""
        return self.build()


class ModelProvider(ABC):
    """A provider prefix (`openai`, `anthropic`, `local`, `scripted`) and how to build its models.

    Subclasses are registered with `@register_provider`; one instance serves every model id with
    that prefix.
    """

    name: ClassVar[str]
    """The prefix in model ids, e.g. `openai` in `openai:gpt-4o-mini`."""
    default_key_env: ClassVar[str | None] = None
    """Environment variable holding the API key when `ProviderConfig.api_key_env` is not set."""
    default_concurrency: ClassVar[int] = 16
    """Calls in flight at once when `ProviderConfig.concurrency` is not set. A remote API
    spends its latency on the server, not here: a run is only as fast as its longest chain
    of calls when every call that can go out does, so the default is wide (16; providers
    set their own). Lower it in `[models.providers.NAME] concurrency` for a small rate limit."""
    warm_modules: ClassVar[tuple[str, ...]] = ()
    """Modules the first ask needs (the SDK, and its pydantic-ai model unless the provider's
    direct path goes without); `warm` imports them ahead."""
    free: ClassVar[bool] = False
    """Whether calls cost nothing (embedded and scripted models)."""
    sdk: ClassVar[tuple[str, str] | None] = None
    """(importable module, pydantic-ai-slim extra) the provider needs, checked before use."""

    def check(self, model: str, config: ProviderConfig) -> None:
        """Raise our error if `model` cannot be used with `config` (SDK, key, model name).

        Raises:
            ConfigError: the SDK is missing or the model name is unknown.
            MissingCredentialsError: the API key is not in the environment.
        """
        self.require_sdk()
        self.api_key(config)

    @abstractmethod
    def build(self, model: str, config: ProviderConfig, *, seed: int) -> ProviderModel:
        """The pydantic-ai model for `model` (called once per model id per `ModelClient`)."""

    def price(self, model: str, config: ProviderConfig) -> Price | None:
        """USD per million tokens for `model`, or None when unknown."""
        if model in config.prices:
            return config.prices[model]
        if self.free:
            return Price(input_per_mtok=0.0, output_per_mtok=0.0)
        return None

    def key_optional(self, config: ProviderConfig) -> bool:
        """Whether a missing key is acceptable (e.g. a self-hosted OpenAI-compatible server)."""
        return False

    def api_key(self, config: ProviderConfig) -> str | None:
        """The API key from the environment, None when the provider needs none.

        Raises:
            MissingCredentialsError: the key is needed and its variable is unset or empty.
        """
        env = config.api_key_env or self.default_key_env
        if env is None:
            return None
        value = os.environ.get(env, "").strip()
        if value:
            return value
        if config.api_key_env is None and self.key_optional(config):
            return None
        raise MissingCredentialsError(
            f"the {self.name!r} provider needs an API key in the environment variable {env}, "
            f"which is not set; export {env}=... or point models.providers.{self.name}.api_key_env "
            f"at the variable that holds it",
            field=f"models.providers.{self.name}.api_key_env",
        )

    def warm(self) -> None:
        """Import the provider's SDK ahead of the first call (a second or so for some SDKs), so
        that no call waits on it. A missing SDK is left for `check` and `build` to report."""
        for module in self.warm_modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return

    def warm_agent_path(self) -> None:
        """Load, ahead of need, what only the agent path needs beyond `warm`; nothing unless the
        provider has a direct path that leaves it out (blocking: call it in a worker thread
        once the first asks are out)."""
        return None

    def require_sdk(self) -> None:
        """Raise `ConfigError` naming the extra to install if the provider's SDK is missing."""
        if self.sdk is None:
            return
        module, extra = self.sdk
        if importlib.util.find_spec(module) is None:
            raise missing_sdk(self.name, module=module, extra=extra)


def missing_sdk(provider: str, *, module: str, extra: str) -> ConfigError:
    """The error for a provider whose optional SDK is not installed."""
    return ConfigError(
        f"the {provider!r} provider needs the {module!r} package, which is not installed; "
        f'install it with: pip install "pydantic-ai-slim[{extra}]"'
    )


_PROVIDERS: dict[str, ModelProvider] = {}
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")

P = TypeVar("P", bound=type[ModelProvider])


def register_provider(cls: P) -> P:
    """Class decorator: register a `ModelProvider` subclass under its `name`.

    Raises:
        ValueError: the name is malformed or already taken by another class.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"provider {cls.__qualname__} needs a lowercase `name`, got {name!r}")
    existing = _PROVIDERS.get(name)
    if existing is not None and type(existing).__qualname__ != cls.__qualname__:
        raise ValueError(f"provider name {name!r} is already registered by {type(existing)!r}")
    _PROVIDERS[name] = cls()
    return cls


def known_providers() -> list[str]:
    """The provider prefixes a model id may use, sorted."""
    return sorted(_PROVIDERS)


def get_provider(name: str, *, model_id: str | None = None) -> ModelProvider:
    """The provider registered under `name`.

    Raises:
        UnknownProviderError: no such provider; the message lists the known ones.
    """
    provider = _PROVIDERS.get(name)
    if provider is None:
        what = f"model id {model_id!r} names" if model_id else "models.providers names"
        raise UnknownProviderError(
            f"{what} the unknown provider {name!r}; known providers: {', '.join(known_providers())}"
        )
    return provider


def check_models(
    config: ModelsConfig, roles: Iterable[str], *, budget: Budget | None = None
) -> None:
    """Validate, before anything is written, that every role's model can be called.

    Checks the id format, the provider, its SDK, its API key and (where the provider knows its
    models) the model name; with a dollar `budget`, also that every model has a known price.
    Makes no call.

    Raises:
        ConfigError: an id is not "provider:model", an SDK is missing, a model name is unknown,
            or a dollar budget is set for a model without a known price.
        UnknownProviderError: an id or `models.providers` names an unknown provider.
        MissingCredentialsError: a needed API key is not in the environment.
    """
    for name in config.providers:
        get_provider(name)
    seen: set[str] = set()
    for role in roles:
        model_id = config.model_for(role)
        if model_id in seen:
            continue
        seen.add(model_id)
        field = f"models.roles.{role}" if role in config.roles else "models.default"
        ref = parse_model_id(model_id, field=field)
        provider = get_provider(ref.provider, model_id=model_id)
        provider_config = config.provider_config(ref.provider)
        provider.check(ref.name, provider_config)
        priced = provider.price(ref.name, provider_config) is not None
        if budget is not None and budget.max_usd is not None and not priced:
            raise unpriced_error(ref.id)


def warm_models(config: ModelsConfig, roles: Iterable[str], *, agent_path: bool = False) -> None:
    """Import what the first asks of the providers `roles` use need (blocking: call it in a
    worker thread, concurrently with other start-up work); with `agent_path`, what only their
    agent paths need (`ModelProvider.warm_agent_path`) instead."""
    for name in dict.fromkeys(
        parse_model_id(config.model_for(role), field="models").provider for role in roles
    ):
        provider = get_provider(name)
        if agent_path:
            provider.warm_agent_path()
        else:
            provider.warm()


def unpriced_error(model_id: str) -> ConfigError:
    """The error for a dollar budget that cannot be enforced because a price is unknown."""
    provider, _, name = model_id.partition(":")
    return ConfigError(
        f"a dollar budget is set but the price of {model_id!r} is unknown, so it cannot be "
        f"enforced; add models.providers.{provider}.prices.{name!r} "
        f"(input_per_mtok, output_per_mtok) or use a token budget",
        field=f"models.providers.{provider}.prices",
    )
