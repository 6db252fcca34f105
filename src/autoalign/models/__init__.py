"""The one door to LLMs: roles -> models, typed outputs, retries, budgets, ledger and cache.

Nothing else in autoalign imports a provider. Model ids are always `provider:model`:
`local:gemma-3-270m` (the embedded default), `openai:<model>` (OpenAI or any OpenAI-compatible
server via `base_url`), `anthropic:<model>`, and `scripted:<name>` for tests.
"""

from . import anthropic, local, openai, scripted  # noqa: F401  (importing registers them)
from ._client import CallEvent, CallWatcher, ModelClient, Reply, sample_seed
from ._config import (
    Budget,
    ModelRef,
    ModelsConfig,
    Price,
    ProviderConfig,
    SamplingConfig,
    parse_model_id,
)
from ._ledger import CallLedger
from ._observe import CALL_OBSERVER, CallObserver
from ._prompt import delimit
from ._registry import check_models, known_providers, warm_models
from .scripted import last_prompt, register_script

__all__ = [
    "CALL_OBSERVER",
    "Budget",
    "CallEvent",
    "CallLedger",
    "CallObserver",
    "CallWatcher",
    "ModelClient",
    "ModelRef",
    "ModelsConfig",
    "Price",
    "ProviderConfig",
    "Reply",
    "SamplingConfig",
    "check_models",
    "delimit",
    "known_providers",
    "last_prompt",
    "parse_model_id",
    "register_script",
    "sample_seed",
    "warm_models",
]
