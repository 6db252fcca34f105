"""A scripted research team: each output type gets a fixed, valid answer written here."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo

from autoalign.models import register_script

_names = itertools.count()

SECTION = {"title": "A section", "text": "Found weak evidence that penalties cut hacking."}
QUESTION = "reward_hacking/repeat_penalty_cuts_hacking"
"""The testbed question the scripted worker answers."""
BASELINE = {"label": "baseline", "testbed": "reward_hacking", "seeds": [0, 1]}
PENALTY = {
    "label": "penalty", "testbed": "reward_hacking", "intervention": "repeat_penalty",
    "seeds": [0, 1],
}

ANSWERS: dict[str, Any] = {
    "PositiveCase": {"case": "Reward hacking undermines training.", "key_questions": ["Why?"]},
    "IdeaList": {
        "ideas": [
            {"title": "Penalty study", "summary": "Penalise repeated reward."},
            {"title": "Noise study", "summary": "Add noise to the reward model."},
        ]
    },
    "Score": {"score": 5, "rationale": "Plausible."},
    "Proposal": lambda prompt: {
        # Distinct per idea, so the two proposals are judged by distinct prompts.
        "title": "Proposal on " + prompt.split("<idea>\n", 1)[-1].split("\n", 1)[0],
        "research_question": "Does a penalty reduce hacking?",
        "motivation": "Hacking is common.",
        "writing_task": "Survey the arguments.",
        "expected_outcome": "A clear argument.",
    },
    "ScopePlan": {
        "candidates": [
            {
                "title": "Penalty experiment", "kind": "experiment", "testbed": "reward_hacking",
                "question": QUESTION, "objective": "Measure whether a repeat penalty cuts hacking.",
                "value_percent": 70,
            },
            {
                "title": "Noise experiment", "kind": "experiment", "testbed": "reward_hacking",
                "question": "reward_hacking/noise_cuts_hacking",
                "objective": "Measure whether reward noise cuts hacking.", "value_percent": 40,
            },
        ],
        "run_now": [0],
        "rationale": "The penalty is the cheapest test of the question.",
    },
    "ExperimentPlan": {"rationale": "Paired seeds, two arms.", "arms": [BASELINE, PENALTY]},
    "StepReport": {
        "summary": "The penalty arm hacked less than the baseline on both seeds.",
        "answers": [
            {
                "question": QUESTION, "treated_arm": "penalty", "comparison_arm": "baseline",
                "estimate": -0.1, "ci_low": -0.2, "ci_high": 0.0, "probability_percent": 70,
            }
        ],
    },
    "SpiritVerdict": {
        "preserves_spirit": True,
        "issues": [{"severity": "minor", "description": "Only two seeds.", "evidence": "[0, 1]"}],
        "confidence_percent": 80,
    },
    "RoundInterpretation": {
        "takeaways": ["Penalties cut hacking in the toy"],
        "competing_explanations": ["Too few seeds"],
        "follow_ups": ["More seeds"],
        "confidence_percent": 60,
        "decision": "continue",
        "rationale": "One round is not enough.",
    },
    "DecisionVote": {"approve": True, "rationale": "The evidence supports it."},
    "Section": SECTION,
    "Abstract": {
        "title": "Penalties and reward hacking",
        "text": "We argue penalties help.",
        "claims": [{"text": "Penalties reduce hacking", "probability_percent": 60}],
    },
    "PaperCritique": {
        "flaws": [
            {"category": "overclaiming", "severity": "major", "description": "Generalises."}
        ],
        "decision": "minor_revision",
        "summary": "Mostly faithful.",
    },
    # Stage 4 (across papers): field summaries, critic #3's pair verdicts, missing angles.
    "FieldSummary": {"title": "Penalties", "summary": "Penalties seem to cut hacking."},
    "PairVerdict": {"relation": "unrelated", "rationale": "Different questions."},
    "MissingAngles": {
        "angles": [{"angle": "Other testbeds", "why": "Every result is from one toy."}]
    },
}


def prompt_of(messages: list[ModelMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


@dataclass
class Team:
    """A scripted model: answers by output type; overrides and a call log for assertions."""

    overrides: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        output = info.model_request_parameters.output_object
        assert output is not None, "the pipeline asks for native structured output"
        name = output.name or ""
        prompt = prompt_of(messages)
        self.calls.append((name, prompt))
        answer = self.overrides[name](prompt) if name in self.overrides else ANSWERS[name]
        if callable(answer):
            answer = answer(prompt)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        return ModelResponse(parts=[TextPart(text)])

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


@pytest.fixture
def team() -> tuple[Team, str]:
    """A fresh scripted team and its model id."""
    t = Team()
    name = f"team{next(_names)}"
    register_script(name, t)
    return t, f"scripted:{name}"
