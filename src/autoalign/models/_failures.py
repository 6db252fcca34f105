"""Turning provider failures into our errors: what is transient, and what the message says.

Two kinds of bad answer are told apart here, and only here:

- the model answered, but its output does not validate against the schema: an *output failure*,
  re-asked, then returned (and cached) as a failed reply;
- the transport returned something that is not a chat completion at all (an HTML error page
  with status 200, a body that is not JSON or is cut short, `choices: []`, a choice without a
  message, a connection reset mid-body): a *garbled response*, a transient provider error that
  is retried like a 503 and never cached.
"""

from __future__ import annotations

import json
import traceback

from openai import APIResponseValidationError
from pydantic_ai.exceptions import (
    ModelAPIError,
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
from ..store import AttemptStatus
from ._config import ModelRef, ModelsConfig, SamplingConfig
from ._registry import ModelProvider

_TRANSIENT_STATUS = frozenset({408, 409, 425, 429})
_MESSAGE_LIMIT = 500

GARBLED = "garbled response"
"""How a garbled response is named in errors and in the ledger."""

# pydantic-ai's words for a body it could not read as a chat completion (`UnexpectedModelBehavior`
# from the response processing, `ModelAPIError` from decoding), as opposed to output validation.
_GARBLED_MESSAGES = (
    "Invalid response from",
    "Failed to decode response",
    "Expected a JSON response",
)
# Exceptions a provider's response processing raises on a malformed body that it did not wrap
# (e.g. `IndexError` on `choices: []`); they count as garbled only when raised there.
_SHAPE_ERRORS = (IndexError, KeyError, AttributeError, TypeError)
_DECODE_ERRORS = (json.JSONDecodeError, UnicodeDecodeError, APIResponseValidationError)
# Cached failed replies written by versions that took a garbled response for invalid output.
_STALE_CACHED = ("invalid output: Invalid response from",)


def is_garbled(exc: BaseException) -> bool:
    """Whether `exc` says the transport returned something that is not a chat completion."""
    if isinstance(exc, ModelHTTPError):
        return False
    if isinstance(exc, UnexpectedModelBehavior | ModelAPIError) and exc.message.startswith(
        _GARBLED_MESSAGES
    ):
        return True
    if isinstance(exc, _DECODE_ERRORS):
        return True
    if isinstance(exc, ModelAPIError) and isinstance(exc.__cause__, _DECODE_ERRORS):
        return True
    return isinstance(exc, _SHAPE_ERRORS) and _raised_reading_a_response(exc)


_READING_A_RESPONSE = "_autoalign_reading_a_response"


def reading_a_response(exc: BaseException) -> BaseException:
    """Mark `exc` as raised while reading a provider's response (the direct path's own
    reading, which is not inside a pydantic-ai model); returns it."""
    setattr(exc, _READING_A_RESPONSE, True)
    return exc


def _raised_reading_a_response(exc: BaseException) -> bool:
    """Whether `exc` was raised inside a pydantic-ai model's processing of a response, or the
    direct path's (`reading_a_response`)."""
    if getattr(exc, _READING_A_RESPONSE, False):
        return True
    for frame, _line in traceback.walk_tb(exc.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("pydantic_ai.models.") and "response" in frame.f_code.co_name:
            return True
    return False


def is_stale_cached_failure(error: str | None) -> bool:
    """Whether a cached failed reply is a garbled response an older version took for invalid
    output: a later attempt could fix it, so it must not be served from the cache."""
    return error is not None and error.startswith(_STALE_CACHED)


def is_transient(exc: BaseException) -> bool:
    """Whether waiting and sending the same request again may succeed."""
    if is_garbled(exc):
        return True
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


def attempt_outcome(exc: BaseException) -> AttemptStatus:
    """How a request that failed with `exc` is booked: `failed` when the provider answered with
    an error or a garbled body (nothing billable came back), `lost` when it was cut off or
    timed out after it was sent (the provider may still have run, and billed, it)."""
    if isinstance(exc, ModelHTTPError) or is_garbled(exc):
        return AttemptStatus.FAILED
    if isinstance(exc, ModelConnectionError | ModelRequestTimeout | TimeoutError | ConnectionError):
        return AttemptStatus.LOST
    return AttemptStatus.FAILED


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
    what = describe(exc)
    message = _provider_message(exc)
    if gave_up_after is not None:
        if what == GARBLED:
            cause = (
                "The server answered with something that is not a chat completion (a proxy or "
                "gateway error page?)"
            )
        elif isinstance(exc, ModelRequestTimeout | TimeoutError) or "Timeout" in what:
            cause = (
                f"The provider did not answer within models.providers.{ref.provider}.timeout_s"
            )
        else:
            cause = "The provider may be overloaded or unreachable"
        return ModelError(
            f"{ref.id}: gave up after {gave_up_after} attempts; last error {what}: {message}. "
            f"{cause}: try again later (nothing was cached, a re-run asks again) or raise "
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


def describe(exc: BaseException) -> str:
    """A few words naming a provider failure: `HTTP 503`, `garbled response`, an exception name."""
    if isinstance(exc, ModelHTTPError):
        return f"HTTP {exc.status_code}"
    if is_garbled(exc):
        return GARBLED
    return type(exc).__name__


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
    if isinstance(exc, IndexError | KeyError | AttributeError | TypeError):
        return clip(f"the body is not a chat completion ({type(exc).__name__}: {exc})")
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
