"""The embedded model, for real: one small schema-constrained call."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field
from pydantic_ai.models import override_allow_model_requests

from autoalign.models import ModelClient, ModelsConfig, SamplingConfig
from autoalign.models.local import cache_dir
from autoalign.store import Store


class Fruit(BaseModel):
    name: str = Field(max_length=24)
    sweet: bool


@pytest.mark.local_model
async def test_embedded_model_answers_a_schema_constrained_request(
    store: Store, run_id: int
) -> None:
    # uses (and on first run assembles, 253 MB) the model file in the real cache directory
    client = ModelClient(config=ModelsConfig(), ledger=store, run_id=run_id, seed=1)
    with override_allow_model_requests(True):
        reply = await client.ask(
            "ideator",
            Fruit,
            instructions="Answer with JSON only.",
            prompt="Name one fruit and say whether it is sweet.",
            sampling=SamplingConfig(temperature=0.2, max_tokens=48),
        )
    await client.aclose()
    assert reply.model == "local:gemma-3-270m"
    assert reply.ok, reply.error
    assert isinstance(reply.output, Fruit)
    assert Fruit.model_validate_json(reply.raw) == reply.output
    assert reply.input_tokens > 0 and 0 < reply.output_tokens <= 48 * reply.attempts
    assert reply.cost_usd == 0.0
    [row] = store.calls(run_id=run_id)
    assert (row.input_tokens, row.output_tokens) == (reply.input_tokens, reply.output_tokens)
    assert Path(cache_dir()).is_dir()


@pytest.mark.local_model
async def test_embedded_model_takes_a_prompt_longer_than_8192_tokens(
    store: Store, run_id: int
) -> None:
    # A second project's step plan once came to 9,025 tokens, which a context of 8,192 refused
    # (HTTP 400) and so failed the run.
    client = ModelClient(config=ModelsConfig(), ledger=store, run_id=run_id, seed=1)
    filler = " ".join(f"Earlier step {i} measured hacking rate {i % 7}." for i in range(1400))
    with override_allow_model_requests(True):
        reply = await client.ask(
            "ideator",
            Fruit,
            instructions="Answer with JSON only.",
            prompt=f"{filler}\n\nName one fruit and say whether it is sweet.",
            sampling=SamplingConfig(temperature=0.2, max_tokens=32),
        )
    await client.aclose()
    assert reply.error is None or "context" not in reply.error
    assert reply.input_tokens > 8192
