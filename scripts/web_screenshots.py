"""Make the README's screenshots of the web app (docs/web-paper.png, docs/web-queue.png).

Builds the browser tests' database from the scripted pipeline (without their script-injection
payloads), serves it, and screenshots the paper page and the review queue in Debian's headless
Chromium. Run from the repository root, with the test extra installed:

    .venv/bin/python scripts/web_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import TOKENS, build, truth_for  # noqa: E402
from tests.web.test_browser import ARGS, CHROMIUM, _free_port  # noqa: E402


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from autoalign.web import WebConfig, create_app

    with tempfile.TemporaryDirectory() as folder:
        research = build(Path(folder) / "research.db", payloads=False)
        app = create_app(WebConfig(url=f"sqlite:///{research.path}", tokens=dict(TOKENS),
                                   truth_for=truth_for, n_boot=200))
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(f"{base}/papers/{research.paper_id}")
            page.screenshot(path=str(ROOT / "docs" / "web-paper.png"), full_page=True)
            page.goto(f"{base}/login")
            page.fill("input[name=token]", "alice-secret-0123456789")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/queue")
            page.keyboard.press("j")
            page.screenshot(path=str(ROOT / "docs" / "web-queue.png"))
            browser.close()
        server.should_exit = True
        thread.join(timeout=10)
    print("wrote docs/web-paper.png and docs/web-queue.png")


if __name__ == "__main__":
    main()
