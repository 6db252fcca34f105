"""`scripted:<name>`: models whose answers are written in code, for tests and offline demos.

`scripted:<name>` runs a pydantic-ai `FunctionModel` function registered with
`register_script`. Its structured output is native (JSON text): the function returns a
`ModelResponse` whose `TextPart` holds the JSON (or a `ToolCallPart` to call one of
`info.function_tools`), and finds the schema asked for in
`info.model_request_parameters.output_object.json_schema`. `scripted:schema` needs no
registration: it answers with minimal schema-valid data generated from the output type (pydantic-ai
`TestModel`), and calls no tools. Both sleep `ProviderConfig.latency_s` per call, and cost nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any, ClassVar, cast

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, UserPromptPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.function import AgentInfo, FunctionDef, FunctionModel
from pydantic_ai.models.test import TestModel
from pydantic_ai.settings import ModelSettings

from ..errors import ConfigError
from ._config import ProviderConfig
from ._registry import ModelProvider, ProviderModel, register_provider

SCHEMA = "schema"
"""The built-in script: schema-valid output with no registration."""

_SCRIPTS: dict[str, FunctionDef] = {}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def last_prompt(messages: list[ModelMessage]) -> str:
    """The last user prompt of a request a script is asked (empty if none): what a script's
    function usually reads to decide its answer."""
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def register_script(name: str, fn: FunctionDef) -> None:
    """Make `fn` answer for the model id `scripted:<name>`.

    `fn(messages, info)` is a pydantic-ai `FunctionModel` function (sync or async) returning a
    `ModelResponse`. Registering a name again replaces the earlier function.

    Raises:
        ValueError: the name is malformed or is the built-in `schema`.
    """
    if not _NAME.match(name):
        raise ValueError(f"script name must be letters, digits, '_', '.', '-'; got {name!r}")
    if name == SCHEMA:
        raise ValueError(f"scripted:{SCHEMA} is built in and cannot be replaced")
    if not callable(fn):
        raise ValueError(f"script {name!r} must be callable, got {type(fn).__name__}")
    _SCRIPTS[name] = fn


def registered_scripts() -> list[str]:
    """Names usable after `scripted:`, the built-in `schema` included."""
    return sorted([SCHEMA, *_SCRIPTS])


class _SchemaModel(TestModel):
    """`TestModel` with a simulated latency."""

    __test__ = False

    def __init__(self, *, latency_s: float, seed: int) -> None:
        # It answers; it never calls the tools an ask offers (their arguments would be
        # arbitrary, and the answer is what it stands in for).
        super().__init__(seed=seed, model_name=SCHEMA, call_tools=[])
        self._latency_s = latency_s

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        return await super().request(messages, model_settings, model_request_parameters)


def _with_latency(fn: FunctionDef, latency_s: float) -> FunctionDef:
    async def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if latency_s:
            await asyncio.sleep(latency_s)
        result: Any = fn(messages, info)
        if inspect.isawaitable(result):
            result = await result
        return cast(ModelResponse, result)

    scripted.__name__ = getattr(fn, "__name__", type(fn).__name__)
    return scripted


@register_provider
class ScriptedModels(ModelProvider):
    """Functions standing in for models, selectable by name like any other model."""

    name: ClassVar[str] = "scripted"
    free: ClassVar[bool] = True
    default_concurrency: ClassVar[int] = 64  # in-process and free: only a test's script waits

    def check(self, model: str, config: ProviderConfig) -> None:
        if model != SCHEMA and model not in _SCRIPTS:
            raise ConfigError(
                f"no script is registered as 'scripted:{model}'; registered: "
                f"{', '.join(registered_scripts())} (register one with "
                f"autoalign.models.register_script)"
            )

    def build(self, model: str, config: ProviderConfig, *, seed: int) -> ProviderModel:
        self.check(model, config)
        if model == SCHEMA:
            schema_model = _SchemaModel(latency_s=config.latency_s, seed=seed)
            return ProviderModel(build=lambda: schema_model, output_mode="tool")
        fn = _with_latency(_SCRIPTS[model], config.latency_s)
        function_model = FunctionModel(fn, model_name=f"scripted:{model}")
        return ProviderModel(build=lambda: function_model, output_mode="native")
