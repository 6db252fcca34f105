"""A scripted research team: each output type gets a fixed, valid answer written here."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo

from autoalign.models import last_prompt, register_script

_names = itertools.count()

SECTION_TEXT = "Found weak evidence that penalties cut hacking."


def first_source(prompt: str) -> list[str]:
    """The first bracketed source id the prompt shows (a writer cites only what it was shown)."""
    found = re.search(r"^\[(\d+(?:\.\d+)?)\]", prompt, flags=re.MULTILINE)
    return [found.group(1)] if found else []


def SECTION(prompt: str) -> dict[str, Any]:
    """A section of one paragraph that cites the first source it was shown."""
    return {
        "title": "A section",
        "paragraphs": [{"text": SECTION_TEXT, "sources": first_source(prompt)}],
    }

QUESTION = "reward_hacking/repeat_penalty_cuts_hacking"
"""The testbed question the scripted worker answers."""
BASELINE = {"label": "baseline", "testbed": "reward_hacking", "seeds": [0, 1]}
PENALTY = {
    "label": "penalty", "testbed": "reward_hacking", "intervention": "repeat_penalty",
    "seeds": [0, 1],
}

CANDIDATE = {
    "category": "overclaiming", "severity": "minor", "confidence_percent": 60,
    "section": "main_text", "quote": "weak evidence", "description": "Generalises.",
}
"""The candidate flaw every scripted critic-2 instance babbles."""

ANSWERS: dict[str, Any] = {
    # Distinct per topic and framing, so no two cases (nor their scores and comparisons) share
    # a prompt.
    "PositiveCase": lambda prompt: {
        "case": f"Reward hacking undermines training ({topic_of(prompt)}: "
        f"{prompt.split(chr(10), 1)[0][:60]})",
        "key_questions": ["Why?"],
    },
    # The same ideas in every sample of a topic (merged as near-duplicates), distinct per topic.
    "IdeaList": lambda prompt: {
        "ideas": [
            {
                "title": "Penalty study",
                "summary": f"Penalise repeated reward ({topic_of(prompt)}).",
            },
            {"title": "Noise study", "summary": "Add noise to the reward model."},
        ]
    },
    "Score": {"score": 5, "rationale": "Plausible."},
    # Stage 1 topics and ideas: case rubric scores, idea screen scores, case comparisons.
    "RubricScore": {"score": 6, "rationale": "Calibrated and concrete."},
    "PairwiseChoice": {"better": "first", "rationale": "Stronger evidence."},
    "Proposal": lambda prompt: {
        # Distinct per idea, so the two proposals are judged by distinct prompts.
        "title": "Proposal on " + prompt.split("<idea>\n", 1)[-1].split("\n", 1)[0],
        "research_question": "Does a penalty reduce hacking?",
        "motivation": "Hacking is common ("
        + prompt.split("<idea>\n", 1)[-1].split("</idea>", 1)[0].strip()[-80:] + ").",
        "writing_task": "Survey the arguments.",
        "expected_outcome": "A clear argument.",
    },
    # -- detailed proposals, critique and revision, judges, bundles and screens (stage 1)
    "DetailedProposal": lambda prompt: detailed_proposal(prompt),
    "ProposalCritique": {
        "issues": ["The controls are not named."], "expansions": ["Name the seeds."],
    },
    "Portfolio": {"bundles": [], "screens": []},
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
    # Critic #2, babble and prune: every instance suspects the same minor flaw (merged into one
    # candidate), the investigator confirms it as minor; the paper is accepted with it when no
    # revision round is left, sent back for a minor revision otherwise.
    "FlawCandidates": {
        "flaws": [CANDIDATE],
        "severe_flaw_percent": 10,
        "recommendation": "accept",
        "summary": "Mostly faithful.",
    },
    "FlawCheck": {
        "verdict": "confirmed", "confidence_percent": 80, "severity": "minor",
        "evidence": "The log has two seeds only.",
    },
    # Stage 4 (across papers): field summaries, critic #3's pair verdicts, missing angles.
    "FieldSummary": {"title": "Penalties", "summary": "Penalties seem to cut hacking."},
    "PairVerdict": {"relation": "unrelated", "rationale": "Different questions."},
    "MissingAngles": {
        "angles": [{"angle": "Other testbeds", "why": "Every result is from one toy."}]
    },
    # Red team (issue 11): the LLM injector appends an overclaim to the first field it is
    # offered; the LLM matcher says every critic's findings describe the injected flaw.
    "FlawEdit": lambda prompt: {
        "field": prompt.split("\nfield ", 1)[-1].split(":", 1)[0],
        "quote": "", "replacement": " This settles the question for every setting.",
        "description": "An overclaim appended to the text.",
    },
    "MatchVerdict": {"matches": True, "rationale": "The first finding is the injected flaw."},
}


def topic_of(prompt: str) -> str:
    """The topic named in a prompt (`<topic>` frame), or ''."""
    return prompt.split("<topic>\n", 1)[-1].split("\n", 1)[0] if "<topic>" in prompt else ""


def detailed_proposal(prompt: str, **extra: Any) -> dict[str, Any]:
    """A proposal with every section; its title is distinct per idea (so the proposals are
    judged by distinct prompts) and kept by a revision."""
    if "<idea>\n" in prompt:
        title = "Proposal on " + prompt.split("<idea>\n", 1)[1].split("\n", 1)[0]
        # Ideas of two topics may share a title; their text differs.
        idea = prompt.split("<idea>\n", 1)[1].split("</idea>", 1)[0].strip()[-80:]
        motivation = f"Hacking is common ({idea})."
    else:  # a revision: the draft's title and motivation are in the proposal shown
        shown = prompt.split("<proposal>\n", 1)[-1]
        title = shown.split("\n", 1)[0]
        motivation = shown.split("Motivation: ", 1)[-1].split("\n\nWriting task", 1)[0]
    return {
        "title": title[:120],
        "research_question": "Does a penalty reduce hacking?",
        "motivation": motivation,
        "writing_task": "Survey the arguments.",
        "expected_outcome": "A clear argument.",
        "research_questions": ["Does a repeat penalty cut hacking?"],
        "related_work": [],
        "steps": [
            {"kind": "empirical", "description": "Run the penalty on the testbed."},
            {"kind": "conceptual", "description": "Relate it to reward misspecification."},
        ],
        "more_ambitious": "Sweep penalty strengths.",
        "less_ambitious": "One penalty, two seeds.",
        "trajectories": ["If it helps, sweep strengths."],
        "estimate": {"calls": 20, "tokens": 20000, "sandbox_seconds": 60},
        **extra,
    }




@dataclass
class Team:
    """A scripted model: answers by output type; overrides and a call log for assertions."""

    overrides: dict[str, Callable[[str], Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        output = info.model_request_parameters.output_object
        assert output is not None, "the pipeline asks for native structured output"
        name = output.name or ""
        prompt = last_prompt(messages)
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
