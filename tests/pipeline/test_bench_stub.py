"""The benchmark's stub server (`bench/_stub.py`): valid answers for the pipeline's schemas, in a
process of its own on localhost, counting what it served."""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from autoalign.critics import PairwiseChoice, RubricScore
from autoalign.critics._review import PaperCritique
from autoalign.critics._spirit import SpiritVerdict
from autoalign.pipeline._catalog import Catalog, schemas_for
from autoalign.pipeline._schemas import (
    Abstract,
    DecisionVote,
    IdeaList,
    PositiveCase,
    Proposal,
    RoundInterpretation,
    Score,
    Section,
)

STUB = Path(__file__).resolve().parents[2] / "bench" / "_stub.py"


@pytest.fixture(scope="module")
def stub() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_stub", STUB)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_stub"] = module
    spec.loader.exec_module(module)
    return module


def _types() -> list[type[BaseModel]]:
    s = schemas_for(
        Catalog(testbeds=("reward_hacking",), questions=()), candidates=3, run_now=2,
        max_arms=2, max_seeds=2,
    )
    return [
        PositiveCase, IdeaList, Score, Proposal, RoundInterpretation, DecisionVote, Section,
        Abstract, PaperCritique, SpiritVerdict, s.scope, s.plan, s.report, s.answering,
        RubricScore, PairwiseChoice,
    ]


@pytest.mark.parametrize("seed", [0, 1, 7, 123456789])
def test_the_stub_answers_every_pipeline_schema_validly(stub: ModuleType, seed: int) -> None:
    for output in _types():
        request = {
            "model": "stub", "messages": [{"role": "user", "content": "p"}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": output.__name__, "schema": output.model_json_schema(),
            }},
        }
        reply = stub.completion(request, seed)
        output.model_validate_json(reply["choices"][0]["message"]["content"])


def test_the_stub_calls_the_output_tool_when_offered_tools(stub: ModuleType) -> None:
    tools = [
        {"type": "function", "function": {"name": "list_testbeds", "parameters": {}}},
        {"type": "function", "function": {
            "name": "final_result", "parameters": Score.model_json_schema(),
        }},
    ]
    reply = stub.completion({"messages": [], "tools": tools}, 3)
    call = reply["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "final_result"
    Score.model_validate_json(call["arguments"])


def test_the_stub_serves_in_its_own_process_and_counts(stub: ModuleType) -> None:
    with stub.Stub.start(latency_s=0.0) as server:
        body = json.dumps({
            "model": "stub", "messages": [{"role": "user", "content": "p"}],
            "response_format": {"type": "json_schema", "json_schema": {
                "name": "Score", "schema": Score.model_json_schema(),
            }},
        }).encode()
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions", data=body,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            answer = json.loads(reply.read())
        Score.model_validate_json(answer["choices"][0]["message"]["content"])
        stats = server.stats()
    assert stats["requests"] == 1 and stats["errors"] == 0 and stats["bad_requests"] == 0
    assert stats["connections"] >= 2 and stats["max_in_flight"] == 1
