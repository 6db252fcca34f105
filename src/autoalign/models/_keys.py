"""Digests that identify a prompt and an answerable request."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ._config import SamplingConfig

CACHE_KEY_VERSION = 1
"""Bumped when what goes into the key changes, so old entries are not served for new requests."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no insignificant whitespace: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def prompt_digest(instructions: str, prompt: str) -> str:
    """sha256 of (instructions, prompt): what the model was told, whatever model it was."""
    return _sha256([instructions, prompt])


def cache_key(
    *,
    model_id: str,
    instructions: str,
    prompt: str,
    output_schema: dict[str, Any],
    sampling: SamplingConfig,
    seed: int,
    tools: list[dict[str, Any]] | None = None,
    schema_json: str | None = None,
) -> str:
    """sha256 of everything that determines an answer: model, prompt, schema, sampling, seed,
    and the tools offered (name, description, parameters), if any.

    `schema_json`, when given, must be `canonical_json(output_schema)`, computed once per output
    type: the key's text is then assembled around it rather than re-encoding the schema on
    every ask (the same text, so the same key)."""
    if schema_json is not None:
        dumps = canonical_json
        text = (
            f'{{"instructions":{dumps(instructions)},"model":{dumps(model_id)},'
            f'"prompt":{dumps(prompt)},"sampling":{dumps(sampling.model_dump(mode="json"))},'
            f'"schema":{schema_json},"seed":{dumps(seed)},'
            + (f'"tools":{dumps(tools)},' if tools else "")
            + f'"v":{CACHE_KEY_VERSION}}}'
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    key: dict[str, Any] = {
        "v": CACHE_KEY_VERSION,
        "model": model_id,
        "instructions": instructions,
        "prompt": prompt,
        "schema": output_schema,
        "sampling": sampling.model_dump(mode="json"),
        "seed": seed,
    }
    if tools:  # absent without tools, so keys of asks without tools are unchanged
        key["tools"] = tools
    return _sha256(key)
