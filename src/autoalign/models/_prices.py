"""The built-in price table: the `genai-prices` snapshot that pydantic-ai ships with.

Prices are read once per model at the base tier (a 1,000-token request) and used as flat
per-million-token rates; long-context surcharges are not modelled. A `ProviderConfig.prices`
entry always wins over this table.
"""

from __future__ import annotations

from functools import cache

from ._config import Price

_PROBE_TOKENS = 1_000


@cache
def builtin_price(provider_id: str, model: str) -> Price | None:
    """USD per million tokens of `model` at `provider_id` (`openai`, `anthropic`), if known."""
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # a transitive dependency of pydantic-ai-slim; without it, no table
        return None
    try:
        inp = calc_price(Usage(input_tokens=_PROBE_TOKENS), model, provider_id=provider_id)
        out = calc_price(Usage(output_tokens=_PROBE_TOKENS), model, provider_id=provider_id)
    except LookupError:
        return None
    scale = 1_000_000 / _PROBE_TOKENS
    return Price(
        input_per_mtok=float(inp.total_price) * scale,
        output_per_mtok=float(out.total_price) * scale,
    )
