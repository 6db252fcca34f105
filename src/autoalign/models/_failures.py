"""Turning provider failures into our errors: what is transient, and what the message says."""

from __future__ import annotations

from pydantic_ai.exceptions import (
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelServerError,
    ModelUnavailableError,
    OutputTokenLimitExceeded,
    UnexpectedModelBehavior,
)

from ..errors import ModelError
from ._config import ModelRef, ModelsConfig, SamplingConfig
from ._registry import ModelProvider

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})
_MESSAGE_LIMIT = 500


def is_transient(exc: BaseException) -> bool:
    """Whether waiting and sending the same request again may succeed."""
    if isinstance(exc, ModelQuotaExceededError):
        return False  # exhausted credits: waiting does not help, even when sent as a 429
    if isinstance(
        exc,
        ModelRateLimitError
        | ModelUnavailableError
        | ModelServerError
        | ModelConnectionError
        | ModelRequestTimeout
        | TimeoutError
        | ConnectionError,
    ):
        return True
    if isinstance(exc, ModelHTTPError):
        return exc.status_code in _TRANSIENT_STATUS or exc.status_code >= 500
    return False


def model_error(
    ref: ModelRef,
    provider: ModelProvider,
    config: ModelsConfig,
    exc: BaseException,
    *,
    gave_up_after: int | None = None,
) -> ModelError:
    """Our error for a provider failure: provider, model, status, the provider's words, a hint.

    `gave_up_after` (attempts made) marks a transient failure that retries did not fix.
    """
    status = exc.status_code if isinstance(exc, ModelHTTPError) else None
    what = f"HTTP {status}" if status is not None else type(exc).__name__
    message = _provider_message(exc)
    if gave_up_after is not None:
        return ModelError(
            f"{ref.id}: gave up after {gave_up_after} attempts; last error {what}: {message}. "
            f"The provider may be overloaded or unreachable: try again later or raise "
            f"models.max_retries",
            provider=ref.provider,
            model=ref.id,
            status=status,
            retryable=True,
        )
    provider_config = config.provider_config(ref.provider)
    env = provider_config.api_key_env or provider.default_key_env
    if isinstance(exc, ModelQuotaExceededError):
        hint = "the account's quota or credits are exhausted; top them up or use another model"
    elif status in (401, 403):
        hint = f"check the API key in ${env}" if env else "check the provider's credentials"
    elif status == 404:
        hint = f"check the model name {ref.name!r}" + (
            f" and base_url {provider_config.base_url!r}" if provider_config.base_url else ""
        )
    else:
        hint = "the provider rejected the request"
    return ModelError(
        f"{ref.id}: {ref.provider} returned {what}: {message}; {hint}",
        provider=ref.provider,
        model=ref.id,
        status=status,
        retryable=False,
    )


def _provider_message(exc: BaseException) -> str:
    """The provider's own words from an error body, else the exception's message."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return clip(inner["message"])
        if isinstance(inner, str):
            return clip(inner)
        if isinstance(body.get("message"), str):
            return clip(body["message"])
    if isinstance(body, str) and body.strip():
        return clip(body)
    return clip(str(exc) or type(exc).__name__)


def invalid_output(exc: UnexpectedModelBehavior, sampling: SamplingConfig) -> str:
    """The `Reply.error` of an output that never validated."""
    if isinstance(exc, OutputTokenLimitExceeded):
        return (
            f"output hit max_tokens ({sampling.max_tokens}) before it was complete; raise "
            f"sampling.max_tokens or bound the output schema more tightly (maxItems, maxLength)"
        )
    detail = f": {exc.__cause__}" if exc.__cause__ is not None else ""
    return clip(f"invalid output: {exc.message}{detail}")


def clip(text: str) -> str:
    """`text` on one line, cut to a length fit for a one-line error message."""
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
