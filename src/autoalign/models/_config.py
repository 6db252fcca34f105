"""Configuration of the model layer: which model plays which role, and how it is called."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..errors import ConfigError
from ..vocabulary import EMBEDDED_MODEL

DEFAULT_MODEL = EMBEDDED_MODEL

DEFAULT_TIMEOUT_S = 60.0
"""Default timeout of one HTTP request to a remote provider. A structured answer of a few hundred
tokens takes seconds; a minute leaves room for a slow or busy server, while a server that never
answers costs a minute per attempt (shown as it waits), not ten. The embedded `local` model has
no HTTP timeout: on a small CPU it may take minutes."""


def check_base_url(url: str) -> str:
    """Return `url` if it is an `http(s)://host[:port][/path]` URL.

    Raises:
        ValueError: any other value (another scheme, no host, a bad port, a query, spaces).
    """
    problem = _url_problem(url)
    if problem is not None:
        raise ValueError(f"{problem}; expected http(s)://host[:port][/path]")
    return url


def _url_problem(url: str) -> str | None:
    if url != url.strip() or any(c.isspace() for c in url):
        return "a URL has no spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL"
    if not parts.hostname:
        return "the URL names no host"
    if port is not None and port == 0:
        return "port 0 is not a server's port"
    if parts.query or parts.fragment:
        return "the URL has a query or fragment"
    return None


class SamplingConfig(BaseModel):
    """How a model samples its answer. Part of the cache key: change it and answers are new."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    """Sampling temperature; 0 is (nearly) greedy."""
    max_tokens: int = Field(default=512, ge=1)
    """Most tokens the model may generate per request (per re-ask)."""
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    """Nucleus sampling mass; None leaves the provider's default."""
    extra: dict[str, float | int | bool | str] = Field(default_factory=dict)
    """Server-specific sampling fields sent as they are in the request body of OpenAI-compatible
    servers and the embedded model, e.g. llama.cpp's `dry_multiplier` or `repeat_penalty`,
    vLLM's `repetition_penalty`. Ignored by Anthropic."""


class Price(BaseModel):
    """A model's price in US dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(ge=0.0)
    """USD per million input (prompt) tokens."""
    output_per_mtok: float = Field(ge=0.0)
    """USD per million output (completion) tokens."""

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The price of a call that used these tokens, in USD."""
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1e6


class ProviderConfig(BaseModel):
    """Settings of one provider, keyed by its prefix in `ModelsConfig.providers`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    """Endpoint to call. For `openai`: any OpenAI-compatible server (vLLM, Ollama, llama.cpp)."""
    api_key_env: str | None = None
    """Environment variable holding the key; default `OPENAI_API_KEY` / `ANTHROPIC_API_KEY`."""
    concurrency: int = Field(default=4, ge=1)
    """Most calls in flight to this provider at once. Unset, the provider's own default
    applies (`openai` 32, `anthropic` 16, `local` 1, `scripted` 64; README, "Configuration")."""
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0.0)
    """Timeout of one HTTP request, in seconds (default 60; each retry waits again). Not used
    by the embedded `local` model, which has no timeout."""
    latency_s: float = Field(default=0.0, ge=0.0)
    """Only for the `scripted` provider: simulated latency of each call, in seconds."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Prices per model name (without the provider prefix); override the built-in table."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_base_url(value)
        except ValueError as exc:
            # A custom error type, so the agenda's message is the reason without a prefix.
            raise PydanticCustomError("base_url", str(exc)) from None


class ModelsConfig(BaseModel):
    """Which model plays each role, and how calls are made, retried and sampled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: str = DEFAULT_MODEL
    """Model id (`provider:model`) for every role not named in `roles`."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Role name -> model id (`provider:model`), overriding `default` for that role."""
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    """Provider prefix -> its settings; a provider not listed uses the defaults."""
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    """Sampling used when a call does not pass its own."""
    output_retries: int = Field(default=2, ge=0)
    """Times the model is re-asked when its structured output does not validate."""
    max_retries: int = Field(default=4, ge=0)
    """Retries of transient provider errors (HTTP 429, 5xx, timeouts, lost connections)."""
    backoff_base_s: float = Field(default=0.5, ge=0.0)
    """First retry delay in seconds; doubles on each retry (with jitter)."""
    backoff_max_s: float = Field(default=8.0, ge=0.0)
    """Cap on one retry delay, in seconds."""

    def model_for(self, role: str) -> str:
        """The model id that plays `role`: its entry in `roles`, else `default`."""
        return self.roles.get(role, self.default)

    def provider_config(self, provider: str) -> ProviderConfig:
        """The settings of `provider`, or the defaults when it is not configured."""
        return self.providers.get(provider) or ProviderConfig()


class Budget(BaseModel):
    """Limits on what one run may spend on provider calls (cache hits are free)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, ge=0)
    """Most input + output tokens the run may use; None for no limit."""
    max_usd: float | None = Field(default=None, ge=0.0)
    """Most US dollars the run may spend; None for no limit."""


@dataclass(frozen=True)
class ModelRef:
    """A parsed model id."""

    provider: str
    """The provider prefix, e.g. `openai`."""
    name: str
    """The model name within the provider, e.g. `gpt-4o-mini`."""

    @property
    def id(self) -> str:
        """The full `provider:model` id."""
        return f"{self.provider}:{self.name}"


def parse_model_id(model_id: str, *, field: str | None = None) -> ModelRef:
    """Split `provider:model`, refusing anything else.

    Raises:
        ConfigError: the id has no provider prefix or no model name.
    """
    provider, sep, name = model_id.partition(":")
    if not sep or not provider.strip() or not name.strip() or provider != provider.strip():
        raise ConfigError(
            f'model id {model_id!r} is not of the form "provider:model" '
            f'(e.g. "openai:gpt-4o-mini", "local:gemma-3-270m")',
            field=field,
        )
    return ModelRef(provider=provider, name=name)
