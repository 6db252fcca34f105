"""`ModelClient.ask(..., tools=...)`: tools a model calls before it answers."""

from __future__ import annotations

from collections.abc import Callable

from pydantic_ai import ModelRetry, Tool
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionDef

from autoalign.store import Store

from .test_models_client import VALID, Verdict, client_for


def _returns(messages: list[ModelMessage]) -> list[ToolReturnPart | RetryPromptPart]:
    return [p for m in messages if isinstance(m, ModelRequest) for p in m.parts
            if isinstance(p, ToolReturnPart | RetryPromptPart)]


async def test_a_model_calls_a_tool_is_told_its_error_and_answers(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    seen: list[int] = []

    def lookup(n: int) -> str:
        """Look a number up.

        Args:
            n: the number.
        """
        seen.append(n)
        if n < 0:
            raise ModelRetry("n must not be negative")
        return f"entry {n}"

    offered: list[list[str]] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        offered.append([t.name for t in info.function_tools])
        returns = _returns(messages)
        if not offered[-1]:
            return ModelResponse(parts=[TextPart(VALID)])
        if not returns:
            return ModelResponse(parts=[ToolCallPart("lookup", {"n": -1})])
        if len(returns) == 1:
            assert "must not be negative" in str(returns[0].content)  # the model is told why
            return ModelResponse(parts=[ToolCallPart("lookup", {"n": 3})])
        assert returns[-1].content == "entry 3"
        return ModelResponse(parts=[TextPart(VALID)])

    client = client_for(store, run_id, script(model))
    tools = [Tool(lookup, max_retries=1)]
    reply = await client.ask("critic", Verdict, instructions="i", prompt="p", tools=tools)
    assert reply.ok and seen == [-1, 3]
    (row,) = store.calls(run_id=run_id)
    assert row.output_tokens > 0
    # A cached answer does not call the tools again, and the tools are part of the key.
    again = await client.ask("critic", Verdict, instructions="i", prompt="p", tools=tools)
    assert again.cache_hit and seen == [-1, 3]
    bare = await client.ask("critic", Verdict, instructions="i", prompt="p")
    assert bare.cache_key != reply.cache_key
    assert offered == [["lookup"]] * 3 + [[]]


async def test_a_model_that_never_stops_calling_tools_gives_an_invalid_reply(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart("ping", {})])

    client = client_for(store, run_id, script(model))
    reply = await client.ask(
        "critic", Verdict, instructions="i", prompt="p", tools=[Tool(ping)], max_requests=3
    )
    assert not reply.ok
    assert reply.error is not None and "no answer within 3 model requests" in reply.error
    (row,) = store.calls(run_id=run_id)
    assert row.error is not None  # booked, as a failed reply, not raised
