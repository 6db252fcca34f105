"""A research database from the scripted pipeline, with script-injection payloads in a paper's
text, a topic's name, a flaw's description and an artifact's title, and two review requests;
and an app over a fresh copy of it per test."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.store import Store
from autoalign.testbeds import Truth
from autoalign.vocabulary import Kind, Stage
from autoalign.web import WebConfig, create_app

from ..pipeline.conftest import QUESTION, SECTION_TEXT, Team, first_source
from ..pipeline.test_run import agenda

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
"""What an attacker would put in stored text; no page may show it unescaped."""
TOPIC = f"Probes {PAYLOAD}"
TOKENS = {"alice-secret-0123456789": "alice", "bob-secret-0123456789ab": "bob"}
_names = itertools.count()


@dataclass(frozen=True, kw_only=True)
class Research:
    """The built database and the ids the tests look at."""

    path: Path
    run_id: int
    paper_id: int
    main_id: int
    log_id: int
    payload_id: int
    """An artifact whose title is the payload (downstream of the main text)."""
    flaw_id: int
    """A critical flaw on the main text whose description is the payload."""
    request_id: int
    """A review request on the main text (the most urgent: a critical flaw)."""
    other_request_id: int
    """A review request on the research log (no flaw in its context)."""


def _section(prompt: str) -> dict[str, Any]:
    """The scripted section, with the payload in its text."""
    return {"title": "A section", "paragraphs": [
        {"text": f"{SECTION_TEXT} {PAYLOAD}", "sources": first_source(prompt)}]}


def build(path: Path, *, payloads: bool = True) -> Research:
    """Run the scripted pipeline into a SQLite file at `path` and add the review material
    (without `payloads`, plain text where the payloads go: the README's screenshots)."""
    team = Team(overrides={"Section": _section} if payloads else {})
    payload = PAYLOAD if payloads else "(a reviewer's note)"
    name = f"webteam{next(_names)}"
    register_script(name, team)
    store = Store.open(f"sqlite:///{path}")
    try:
        plan = agenda(f"scripted:{name}")
        if payloads:
            topics = [plan.topics[0], plan.topics[1].model_copy(update={"name": TOPIC})]
            plan = plan.model_copy(update={"topics": topics})
        summary = asyncio.run(run_agenda(plan, store=store))
        assert summary.paper_id is not None, summary.run.stop_reason
        run_id = summary.run.id
        (main,) = store.artifacts(run_id=run_id, kind=Kind.MAIN_TEXT)
        (log,) = store.artifacts(run_id=run_id, kind=Kind.RESEARCH_LOG)
        noted = store.add_artifact(
            run_id=run_id, kind=Kind.STEP_REPORT, stage=Stage.WRITEUP, title=payload,
            content_text=f"notes {payload}", parents=[(main.id, "cites")],
        )
        flaw = store.add_flaw(artifact_id=main.id, category="overclaiming", severity="critical",
                              description=f"The effect is overstated {payload}")
        request = store.add_review_request(artifact_id=main.id, reason=f"check it {payload}")
        other = store.add_review_request(artifact_id=log.id, reason="is the log complete?")
        return Research(path=path, run_id=run_id, paper_id=summary.paper_id, main_id=main.id,
                        log_id=log.id, payload_id=noted.id, flaw_id=flaw.id,
                        request_id=request, other_request_id=other)
    finally:
        store.close()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Research:
    """The scripted research database, built once per session (tests copy it)."""
    return build(tmp_path_factory.mktemp("web") / "research.db")


@pytest.fixture
def research(built: Research, tmp_path: Path) -> Research:
    """A fresh copy of the research database for one test."""
    copy = tmp_path / "research.db"
    shutil.copy(built.path, copy)
    return Research(**{**built.__dict__, "path": copy})


@pytest.fixture
def url(research: Research) -> str:
    return f"sqlite:///{research.path}"


def truth_for(testbed: str, /) -> list[Truth]:
    """Ground truth for the scripted claim's question: the penalty does cut hacking."""
    question = QUESTION.split("/", 1)[1]
    return [Truth(
        testbed=testbed, question_id=question, version="1", metric="hack_rate",
        effect_kind="difference", threshold=0.1, direction="at_least", effect=0.2, se=0.01,
        estimator="paired_difference", n_seeds=300, answer=True, baseline_mean=0.3,
        treated_mean=0.5,
    )]


@pytest.fixture
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of the app (reviewer tokens of alice and bob)."""
    app = create_app(WebConfig(url=url, tokens=dict(TOKENS), truth_for=truth_for, n_boot=50))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    app.state.stores.close()
