"""Every route of the web app, in process: what each page shows, that stored text is escaped,
the security headers, and the review decision (same label and rollback as the CLI)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from autoalign.store import Store

from .conftest import PAYLOAD, TOPIC, Research

ESCAPED = "&lt;script&gt;alert("


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> None:
    page = await client.get("/login")
    resp = await client.post("/login", data={"token": token, "csrf_token": csrf_of(page.text)})
    assert resp.status_code == 303, resp.text


def pages(r: Research) -> dict[str, list[str]]:
    """Each route and what it must show."""
    return {
        "/": ["Runs", f'href="/runs/{r.run_id}"', "open review request"],
        f"/runs/{r.run_id}": ["Stage 1 funnel", "Spending", "budget", "wall time",
                              f'href="/papers/{r.paper_id}"', "writeup"],
        "/papers": [f'href="/papers/{r.paper_id}"'],
        f"/papers/{r.paper_id}": ['id="abstract"', 'id="introduction"', 'id="main_text"',
                                  'id="appendix"', 'id="logs"', f'href="/artifacts/{r.log_id}"',
                                  "critique and flaws", "rests on:"],
        f"/artifacts/{r.main_id}": ["<svg", f'href="/artifacts/{r.payload_id}"', "Status history",
                                    "The effect is overstated"],
        f"/artifacts/{r.main_id}/graph.svg": ["<svg", f'href="/artifacts/{r.paper_id}"'],
        "/claims": ["probability", "interval"],
        "/flaws": ["critical", "overclaiming", f'href="/artifacts/{r.main_id}"'],
        "/queue": [f'href="/review/{r.request_id}"', f'href="/review/{r.other_request_id}"'],
        f"/review/{r.request_id}": ["The effect is overstated", "Provenance", "Decisions",
                                    f'href="/artifacts/{r.log_id}"', "sandbox runs:"],
        "/login": ["reviewer token"],
        "/calibration": ["brier", "95% CI", "/calibration.png"],
        "/redteam": ["no red-team experiment"],
        "/case": ["Safety case"],
    }


async def test_every_page_answers_with_its_content(
    client: httpx.AsyncClient, research: Research
) -> None:
    for route, expected in pages(research).items():
        resp = await client.get(route)
        assert resp.status_code == 200, (route, resp.text[:500])
        for text in expected:
            assert text in resp.text, (route, text)
    png = await client.get("/calibration.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    js = await client.get("/static/app.js")
    assert js.status_code == 200 and "keydown" in js.text


async def test_the_queue_lists_the_most_urgent_request_first(
    client: httpx.AsyncClient, research: Research
) -> None:
    html = (await client.get("/queue")).text
    # the request on the main text has a critical flaw in its context; the log's has none
    assert html.index(f'"/review/{research.request_id}"') < html.index(
        f'"/review/{research.other_request_id}"')


async def test_paper_numbers_link_to_their_sandbox_run(
    client: httpx.AsyncClient, research: Research
) -> None:
    store = Store.open(f"sqlite:///{research.path}", create=False)
    try:
        runs = {a.id for a in store.artifacts(run_id=research.run_id, kind="sandbox_run")}
    finally:
        store.close()
    html = (await client.get(f"/papers/{research.paper_id}")).text
    linked = {int(m) for m in re.findall(r'class="number" href="/artifacts/(\d+)"', html)}
    assert linked and linked <= runs


async def test_every_payload_is_escaped(client: httpx.AsyncClient, research: Research) -> None:
    store = Store.open(f"sqlite:///{research.path}", create=False)
    try:
        (topic,) = [a for a in store.artifacts(run_id=research.run_id, kind="topic")
                    if a.title == TOPIC or TOPIC in a.content_text]
    finally:
        store.close()
    where = {
        f"/papers/{research.paper_id}": "paper text",
        f"/artifacts/{research.payload_id}": "artifact title",
        f"/artifacts/{research.main_id}": "artifact title in the graph, flaw description",
        "/flaws": "flaw description",
        f"/review/{research.request_id}": "flaw description, request reason",
        "/queue": "request reason",
        f"/artifacts/{topic.id}": "topic name",
    }
    for route, what in where.items():
        html = (await client.get(route)).text
        assert ESCAPED in html, (route, what)
        assert "<script>alert" not in html and "<img src=x" not in html, (route, what)
    assert PAYLOAD not in (await client.get(f"/artifacts/{research.main_id}/graph.svg")).text


async def test_responses_carry_a_strict_content_security_policy(
    client: httpx.AsyncClient, research: Research
) -> None:
    for route in ("/", f"/papers/{research.paper_id}", "/static/app.js"):
        csp = (await client.get(route)).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
    html = (await client.get(f"/review/{research.request_id}")).text
    assert "<script>" not in html and " on" + "click=" not in html  # no inline script


async def test_unknown_ids_are_404_pages(client: httpx.AsyncClient, research: Research) -> None:
    for route in ("/papers/999999", "/artifacts/999999", "/review/999999", "/runs/999999",
                  f"/papers/{research.main_id}"):  # not a paper
        resp = await client.get(route)
        assert resp.status_code == 404 and "Cannot show this" in resp.text, route


async def test_the_red_team_page_shows_the_latest_experiments_figures(
    client: httpx.AsyncClient, research: Research
) -> None:
    from autoalign.redteam import RedteamConfig, run_experiment

    with Store.open(f"sqlite:///{research.path}") as store:
        await run_experiment(store, RedteamConfig(
            name="web", critics=["c1.results-produced", "c2.numbers-match"],
            flaw_types=["unproduced-result", "number-differs-from-log"], injections_per_type=2,
        ))
    page = await client.get("/redteam")
    assert page.status_code == 200 and "c1.results-produced" in page.text
    figures = re.findall(r'<img src="/redteam/([^"]+)" alt="([^"]+)"', page.text)
    assert ("recall.png", "Recall by flaw type") in {(f, t) for f, t in figures}, figures
    for name, _title in figures:
        png = await client.get(f"/redteam/{name}")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert (await client.get("/redteam/nothing.png")).status_code == 404


async def test_the_safety_case_page_shows_each_registered_cases_latest_evaluation(
    client: httpx.AsyncClient, research: Research, tmp_path: Path
) -> None:
    from autoalign.case import reevaluate_registered, render_template

    assert "case-missing" in (await client.get("/case")).text  # none registered yet
    text = render_template("pipeline-a").replace(
        "text: ", f"text: {PAYLOAD.replace(':', ' ')} ", 1)  # untrusted text in the first node
    path = tmp_path / "case.yaml"
    path.write_text(text, encoding="utf-8")
    with Store.open(f"sqlite:///{research.path}") as store:
        store.register_case(name="pipeline-a", path=str(path))
        assert "not evaluated yet" in (await client.get("/case")).text
        (done,) = reevaluate_registered(store)
        assert done.error is None, done.error
        nodes = store.case_snapshots(case_name="pipeline-a")[-1].content["nodes"]
    page = (await client.get("/case")).text
    assert "<h2>pipeline-a</h2>" in page and "<svg" in page and "case-missing" not in page
    for node_id, node in nodes.items():  # every node with its status
        assert f"<td>{node_id}</td>" in page and f"<b>{node['status']}</b>" in page
    assert "<script>" not in page and ESCAPED in page
