"""The red team: known flaws put in front of the critics, and the statistics of what they
caught (see `docs/redteam.md` and `docs/statistics.md`).

- Flaw types (`FLAW_TYPES`, taxonomy version 4): what can be wrong in an executed step, a paper
  or a corpus, and the category a critic reports it as.
- Injectors: one programmatic injector per type (`inject`) makes a tampered copy of a clean
  subject and returns exactly what changed (`Change`); `llm_inject` asks the `red-team` model
  for a subtle flaw; `injection_hook` tampers with a running pipeline's step outputs.
- Experiments (`autoalign redteam run CONFIG`): `run_experiment` stores injections and one
  trial per (subject, critic, matcher) in the red-team tables, which no critic reads;
  `trials(store, experiment_id)` is what the statistics read.
"""

from . import _inject_corpus, _inject_paper, _inject_step  # noqa: F401  (registers injectors)
from ._change import Change, Injected, changed_paths, replace_text, replace_value, within
from ._config import RedteamConfig, load_config, parse_config
from ._critics import (
    CORPUS_EVIDENCE,
    RedteamCritic,
    corpus_evidence,
    redteam_critic,
    redteam_critic_ids,
)
from ._experiment import (
    ExperimentSummary,
    Tally,
    agreement,
    model_roles,
    run_experiment,
    run_experiment_sync,
    tally,
    trials,
)
from ._flaws import FLAW_TAXONOMY_VERSION, FLAW_TYPES, WHERES, FlawType, Where, flaw_type
from ._hooks import InjectionHook, OutputEdit, injection_hook
from ._llm_inject import FlawEdit, apply_edit, llm_inject, text_fields
from ._match import MatchVerdict, llm_match, strict_match
from ._registry import Injector, get_injector, inject, injector, missing_injectors
from ._subjects import (
    CleanSubject,
    Corpus,
    CorpusClaim,
    CorpusEntry,
    Subject,
    builtin_subjects,
    clean_code_step,
    clean_corpus,
)
from ._trial import Trial

__all__ = [
    "CORPUS_EVIDENCE",
    "FLAW_TAXONOMY_VERSION",
    "FLAW_TYPES",
    "WHERES",
    "Change",
    "CleanSubject",
    "Corpus",
    "CorpusClaim",
    "CorpusEntry",
    "ExperimentSummary",
    "FlawEdit",
    "FlawType",
    "Injected",
    "InjectionHook",
    "Injector",
    "MatchVerdict",
    "OutputEdit",
    "RedteamConfig",
    "RedteamCritic",
    "Subject",
    "Tally",
    "Trial",
    "Where",
    "agreement",
    "apply_edit",
    "builtin_subjects",
    "changed_paths",
    "clean_code_step",
    "clean_corpus",
    "corpus_evidence",
    "flaw_type",
    "get_injector",
    "inject",
    "injection_hook",
    "injector",
    "llm_inject",
    "llm_match",
    "load_config",
    "missing_injectors",
    "model_roles",
    "parse_config",
    "redteam_critic",
    "redteam_critic_ids",
    "replace_text",
    "replace_value",
    "run_experiment",
    "run_experiment_sync",
    "strict_match",
    "tally",
    "text_fields",
    "trials",
    "within",
]
