"""End to end in headless Chromium (Debian's, driven by Playwright): a reviewer signs in,
reviews an escalation with the keyboard and the decision lands in the database; every page is
rendered, screenshotted and checked for what it must show, with no Content-Security-Policy
violation (the keyboard shortcuts are the app's own script, not inline)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoalign.store import Store
from autoalign.web import WebConfig, create_app

from .conftest import TOKENS, Research, truth_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="the browser tests need Debian's Chromium at /usr/bin/chromium: run "
    "scripts/install-browser.sh (.ci/run does)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(research: Research) -> Iterator[str]:
    """The app served by uvicorn on a free local port, in a thread."""
    import uvicorn

    app = create_app(WebConfig(url=f"sqlite:///{research.path}", tokens=dict(TOKENS),
                               truth_for=truth_for, n_boot=50))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, violations: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: violations.append(m.text)
            if "Content Security Policy" in m.text or m.type == "error" else None)
    return page


def _sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")


def test_a_reviewer_confirms_an_escalation_with_the_keyboard(
    server: str, browser: Any, research: Research
) -> None:
    violations: list[str] = []
    page = _page(browser, violations)
    _sign_in(page, server, "alice-secret-0123456789")
    # j selects the first (most urgent) request, Enter opens it, c confirms the flaw
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/review/{research.request_id}")
    assert "decision as alice" in page.inner_text("#decide-form")
    page.keyboard.press("c")
    page.wait_for_selector("#recorded")
    assert "by alice" in page.inner_text("#labels")
    assert violations == []
    store = Store.open(f"sqlite:///{research.path}", create=False)
    try:
        (label,) = store.review_labels(request_id=research.request_id)
        assert (label.reviewer, label.decision) == ("alice", "confirm")
        assert store.artifact(research.main_id).status == "flawed"
        assert store.artifact(research.paper_id).status == "tainted"
    finally:
        store.close()


def test_a_comment_and_a_severity_then_ctrl_enter(
    server: str, browser: Any, research: Research
) -> None:
    page = _page(browser, [])
    _sign_in(page, server, "bob-secret-0123456789ab")
    page.goto(f"{server}/review/{research.other_request_id}")
    page.keyboard.press("Shift+D")  # selects dismiss without recording
    assert page.is_checked("input[value=dismiss]")
    page.fill("textarea[name=comment]", "the log is complete")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#recorded")
    store = Store.open(f"sqlite:///{research.path}", create=False)
    try:
        (label,) = store.review_labels(request_id=research.other_request_id)
        assert (label.reviewer, label.decision, label.comment) == (
            "bob", "dismiss", "the log is complete")
    finally:
        store.close()


def test_every_page_renders_what_it_must_show(
    server: str, browser: Any, research: Research, tmp_path: Path
) -> None:
    r = research
    must_show = {
        "runs": ("/", ["Runs", "open review request"]),
        "run": (f"/runs/{r.run_id}", ["Stage 1 funnel", "Spending", "Papers"]),
        "papers": ("/papers", ["Papers"]),
        "paper": (f"/papers/{r.paper_id}", ["abstract", "introduction", "main text", "appendix",
                                            "logs", "claims", "critique and flaws"]),
        "artifact": (f"/artifacts/{r.main_id}", ["Status history", "Provenance", "Content"]),
        "claims": ("/claims", ["Claims", "probability"]),
        "flaws": ("/flaws", ["Flaws", "critical", "overclaiming"]),
        "queue": ("/queue", ["Review queue", "is the log complete?"]),
        "review": (f"/review/{r.request_id}", ["Review request", "Flaws", "Critique",
                                                "Provenance", "Decisions"]),
        "login": ("/login", ["Sign in to review"]),
        "calibration": ("/calibration", ["Calibration", "brier"]),
        "redteam": ("/redteam", ["Red-team report", "no red-team experiment"]),
        "case": ("/case", ["Safety case"]),
    }
    violations: list[str] = []
    page = _page(browser, violations)
    for name, (route, texts) in must_show.items():
        page.goto(server + route)
        text = page.inner_text("body")
        for expected in texts:
            assert expected in text, (name, expected)
        assert "<script>" not in text or "&lt;" not in text  # payloads show as text
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000, name
    # the paper's payload is shown as text, and never ran
    page.goto(f"{server}/papers/{r.paper_id}")
    assert '<script>alert("x")</script>' in page.inner_text("#main_text")
    assert page.evaluate("document.querySelectorAll('main script, main img[src=x]').length") == 0
    # the calibration figure loaded
    page.goto(f"{server}/calibration")
    assert page.evaluate("document.querySelector('figure img').naturalWidth") > 100
    # the provenance graph is drawn and its nodes link to artifacts
    page.goto(f"{server}/artifacts/{r.main_id}")
    assert page.locator("svg.provenance a").count() >= 3
    assert violations == []
