"""The direct path: a plain structured-output ask sent with the provider's SDK, without an agent.

An ask with no tools needs none of pydantic-ai's agent machinery (the run graph, message capture,
the output toolset), yet that machinery cost several times the SDK call itself on every ask. Here
such an ask is one SDK request built once per model and output type and reused: the same request
body the agent path sends (system instructions, the user prompt, the provider's structured-output
mode and the same sampling fields), the reply validated by the output type's validator, and an
output that does not validate re-asked with the same feedback, as often, as the agent would.

The failure classification stays the agent path's: provider errors are mapped by pydantic-ai's own
mapping for that SDK (so a 429, a timeout or a 401 is the same pydantic-ai exception either way),
a body that is not a chat completion raises the same "Invalid response from" error, and output
that never validates raises the same `UnexpectedModelBehavior` with the same cause. Each response
received is appended to the caller's list as a pydantic-ai `ModelResponse` (text and token usage),
as `capture_run_messages` would have collected it.

Anything the direct path does not reproduce exactly goes the agent path instead: tools, a model
whose profile changes the request (reasoning models, dropped settings), an output type that is
not an object (pydantic-ai wraps it), text that resembles one of pydantic-ai's frames (it would add
a note), and the scripted and embedded providers. `ModelClient` asks `accepts` before each ask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, cast

from pydantic import ValidationError
from pydantic_ai.exceptions import (
    OutputTokenLimitExceeded,
    ToolRetryError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    RetryFeedbackPart,
    RetryInfo,
    TextPart,
)
from pydantic_ai.usage import RequestUsage

from ._config import SamplingConfig
from ._failures import reading_a_response

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

try:  # pydantic-ai internals the direct path reuses, so that it behaves as the agent path does
    from pydantic_ai._framing import lookalike_note_announcement, resembles_frame
    from pydantic_ai._json_schema import JsonSchemaTransformerWithOutputOverride
    from pydantic_ai._output import ObjectOutputProcessor
    from pydantic_ai.messages import (
        _NO_OUTPUT_RETURN_TEXT,
        _no_output_feedback_text,
    )
    from pydantic_ai.models import _customize_output_object as customize_output_object
    from pydantic_ai.models import get_user_agent
    from pydantic_ai.profiles import DEFAULT_PROFILE, merge_profile

    _INTERNALS = True
except ImportError:  # another pydantic-ai version: every ask takes the agent path
    _INTERNALS = False


@dataclass(frozen=True)
class _Plan:
    """How one output type is asked for and validated: pydantic-ai's own output processor."""

    processor: Any
    """`pydantic_ai._output.ObjectOutputProcessor` of the type: its schema and validator."""


@functools.lru_cache(maxsize=512)
def _plan(output_type: Hashable) -> _Plan | None:
    processor = ObjectOutputProcessor(output=cast(Any, output_type))
    if processor.hook_unwrap_key is not None:
        return None  # not an object: pydantic-ai wraps it in {"response": ...}; left to the agent
    return _Plan(processor=processor)


def plan_for(output_type: Any) -> _Plan | None:
    """The output type's plan, built once per type; None when the direct path cannot take it."""
    if not _INTERNALS:
        return None
    try:
        return _plan(output_type)
    except TypeError:  # unhashable (e.g. Annotated with a dict)
        return None
    except Exception:  # a type pydantic-ai builds differently (e.g. an output function)
        return None


class DirectModel:
    """A provider's direct path: `run` one plain structured-output ask through its SDK client."""

    def accepts(self, output_type: Any, instructions: str, prompt: str) -> bool:
        """Whether this ask can go the direct path with the request the agent path would send."""
        raise NotImplementedError

    async def run(
        self,
        output_type: Any,
        *,
        instructions: str,
        prompt: str,
        sampling: SamplingConfig,
        seed: int,
        output_retries: int,
        messages: list[ModelMessage],
    ) -> Any:
        """Ask until the output validates or `output_retries` re-asks are spent.

        Each response is appended to `messages` as it arrives (also when a later request
        fails), so the caller can count what was answered and paid for.

        Raises:
            UnexpectedModelBehavior: the output never validated (as the agent raises it), or
                the body was not a chat completion ("Invalid response from ...").
            ModelAPIError: the provider failed (pydantic-ai's mapping of the SDK's error).
        """
        raise NotImplementedError


class OpenAIDirect(DirectModel):
    """Chat Completions with the JSON-schema response format, as pydantic-ai's
    `OpenAIChatModel` sends it (`NativeOutput`).

    It needs no `OpenAIChatModel` until a response is garbled (pydantic-ai's validation of the
    body names the error): building one loads the SDK's resource modules and genai-prices'
    table, a few tenths of a second of CPU that would stand before a run's first call. What it
    reads of the model's profile it resolves as `Model.profile` does for those fields: the
    defaults under the provider's profile for the name (the later layers of the resolution set
    none of them; `tests/models/test_models_direct.py` compares the two across model names).
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        model_name: str,
        provider: OpenAIProvider,
        *,
        chat: Callable[[], OpenAIChatModel],
    ) -> None:
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion
        self._client = client
        self._name = model_name
        self._chat = chat
        self._formats: dict[Any, dict[str, Any]] = {}
        profile: dict[str, Any] = (
            dict(merge_profile(DEFAULT_PROFILE, provider._configured_model_profile(model_name)))
            if _INTERNALS
            else {}
        )
        self._transformer = profile.get("json_schema_transformer")
        # A profile that rewrites the request (sampling dropped for reasoning, settings a server
        # refuses, a thinking body) keeps the agent path, which knows how.
        self._plain = (
            _INTERNALS
            and not profile.get("openai_supports_reasoning", False)
            and not profile.get("openai_unsupported_model_settings", ())
            and not profile.get("openai_chat_thinking_false_body")
        )
        self._max_tokens_field = (
            "max_completion_tokens"
            if profile.get("openai_chat_supports_max_completion_tokens", True)
            else "max_tokens"
        )
        self._strict_field = bool(profile.get("openai_supports_strict_tool_definition", True))
        self._headers = {"User-Agent": get_user_agent()} if _INTERNALS else {}
        self._namespace = str(getattr(provider, "model_id_namespace", "openai"))

    def accepts(self, output_type: Any, instructions: str, prompt: str) -> bool:
        if not self._plain or plan_for(output_type) is None:
            return False
        return not (resembles_frame(prompt) or resembles_frame(instructions))

    def _response_format(self, output_type: Any, plan: _Plan) -> dict[str, Any]:
        """The `response_format` the agent path sends for this type: pydantic-ai's output
        object, through this model's schema transformer (built once per type)."""
        cached = self._formats.get(output_type)
        if cached is not None:
            return cached
        # What `Model.customize_request_parameters` does to an output object.
        obj = plan.processor.object_def
        if self._transformer is not None:
            transformer = (
                self._transformer.output_object_transformer
                if issubclass(self._transformer, JsonSchemaTransformerWithOutputOverride)
                else self._transformer
            )
            obj = customize_output_object(transformer, obj)
        schema: dict[str, Any] = {"name": obj.name, "schema": obj.json_schema}
        if obj.description:
            schema["description"] = obj.description
        if self._strict_field:
            schema["strict"] = obj.strict
        response_format = {"type": "json_schema", "json_schema": schema}
        self._formats[output_type] = response_format
        return response_format

    async def run(
        self,
        output_type: Any,
        *,
        instructions: str,
        prompt: str,
        sampling: SamplingConfig,
        seed: int,
        output_retries: int,
        messages: list[ModelMessage],
    ) -> Any:
        plan = plan_for(output_type)
        assert plan is not None, "accepts() said no"
        body: dict[str, Any] = {
            "model": self._name,
            "stream": False,
            "messages": None,
            self._max_tokens_field: sampling.max_tokens,
            "response_format": self._response_format(output_type, plan),
            "seed": seed,
            "temperature": sampling.temperature,
        }
        if sampling.top_p is not None:
            body["top_p"] = sampling.top_p
        # What `chat.completions.create` would pass on, without its walk over every parameter
        # (the JSON schema included) to transform typed dicts that here are plain JSON already.
        options: dict[str, Any] = {"headers": self._headers, "security": {"bearer_auth": True}}
        if sampling.extra:
            options["extra_json"] = dict(sampling.extra)
        conversation: list[dict[str, Any]] = [
            {"role": "system", "content": instructions},
            {"role": "user", "content": prompt},
        ]
        announced = False
        retries = 0
        name = self._name
        post: Any = self._client.post
        while True:
            body["messages"] = list(conversation)
            try:
                completion: Any = await post(
                    "/chat/completions",
                    cast_to=self._completion_type,
                    body=body,
                    options=options,
                    stream=False,
                )
            except Exception as exc:
                _raise_mapped(exc, name, self._namespace)
            text, finish, usage = _read_completion(
                completion, self._completion_type, lambda c: self._chat()._validate_completion(c)
            )
            messages.append(
                ModelResponse(
                    parts=[TextPart(text)] if text else [],
                    usage=usage,
                    model_name=name,
                    provider_name="openai",
                )
            )
            if not text:
                feedback = RetryFeedbackPart(
                    content=_no_output_feedback_text([_NO_OUTPUT_RETURN_TEXT]),
                    retry=RetryInfo(cause="no_output"),
                )
                error = ToolRetryError(feedback)
                if finish == "length":
                    raise OutputTokenLimitExceeded(_cut_off(sampling)) from error
                retries = _consume(retries, output_retries, error)
                conversation.append({"role": "system", "content": feedback.model_response()})
                continue
            try:
                return plan.processor.validate(text)
            except ValidationError as exc:
                feedback = RetryFeedbackPart(
                    content=exc.errors(include_url=False, include_context=False),
                    retry=RetryInfo(cause="validation_error"),
                )
                error = ToolRetryError(feedback)
                if finish == "length":
                    raise OutputTokenLimitExceeded(_cut_off(sampling)) from error
                retries = _consume(retries, output_retries, error)
                conversation.append({"role": "assistant", "content": text})
                if not announced:
                    # The feedback is a frame: the first one is announced in a system message.
                    announced = True
                    conversation.append(
                        {"role": "system", "content": lookalike_note_announcement(system_role=True)}
                    )
                conversation.append({"role": "user", "content": feedback.model_response()})


def _raise_mapped(exc: Exception, name: str, namespace: str) -> NoReturn:
    """Raise `exc` as the agent path would: through pydantic-ai's mapping of the SDK's errors
    (imported here, on the first failure, rather than before the first call)."""
    from pydantic_ai.models._decode_errors import map_decode_errors
    from pydantic_ai.models.openai._errors import map_api_errors

    with map_api_errors(name, namespace), map_decode_errors(name):
        raise exc


def _read_completion(
    completion: Any, chat_completion: type[Any], validate: Callable[[Any], object]
) -> tuple[str, str, RequestUsage]:
    """(text, finish reason, usage) of a chat completion; a body that is not one raises
    pydantic-ai's "Invalid response from" error (a garbled response, retried)."""
    if not isinstance(completion, chat_completion):
        raise UnexpectedModelBehavior(
            "Invalid response from openai chat completions endpoint, expected JSON data"
        )
    try:
        choice = completion.choices[0]
        message = choice.message
        text = message.content or ""
        if not isinstance(text, str):
            raise TypeError(f"message content is {type(text).__name__}, not text")
        finish = choice.finish_reason or "stop"
        usage = completion.usage
        tokens = RequestUsage(
            input_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
            output_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
        )
    except (IndexError, AttributeError, TypeError, KeyError) as exc:
        # Named as the agent path names it: pydantic-ai's validation of the body, when that
        # fails, else the exception itself (both garbled responses, retried).
        try:
            validate(completion)
        except ValidationError as invalid:
            raise UnexpectedModelBehavior(
                f"Invalid response from openai chat completions endpoint: {invalid}"
            ) from invalid
        except Exception:
            pass
        raise reading_a_response(exc) from None
    return text, str(finish), tokens


def _consume(retries: int, output_retries: int, error: ToolRetryError) -> int:
    """Count one output re-ask; past the limit, raise as the agent does."""
    retries += 1
    if retries > output_retries:
        raise UnexpectedModelBehavior(
            f"Exceeded maximum output retries ({output_retries})"
        ) from error
    return retries


def _cut_off(sampling: SamplingConfig) -> str:
    return (
        f"Model token limit ({sampling.max_tokens}) exceeded before any response was generated."
    )
