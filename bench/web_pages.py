"""Page latency of the web app on a database with 10,000 papers: the paper page and the review
queue, against a static page served by the same app in the same run.

The database starts as one run of the scripted pipeline (the web tests' team, offline, no
model); its paper (the paper and its four sections) is then copied until the database holds
10,000 papers, with Core bulk inserts (each copy's sections linked to the same upstream
artifacts, its status events and provenance edges, its research log shared), and 200 review
requests over the copies' main texts, a critical flaw on every fifth. Requests go through the
app in process (httpx's ASGI transport: no socket), one at a time, after a warm-up; each page's
median and 95th percentile over a fixed number of requests is printed with its ratio to the
static page's median. The queue is measured twice: built (as after any change to the database,
its cache cleared before each request) and reloaded (nothing changed: the app's cached queue,
after one query that checks the database did not change). SQLite only.

Run:  python bench/web_pages.py [--papers N] [--requests N] [--reviews N]
(from the repository root, with the test extra installed: it builds the database with the web
tests' scripted team).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from autoalign.store import Store  # noqa: E402
from autoalign.store._schema import (  # noqa: E402
    Artifact,
    ArtifactEvent,
    Flaw,
    ProvenanceEdge,
    ReviewRequest,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECTIONS = ("abstract", "introduction", "main_text", "appendix")


def grow(url: str, paper_id: int, papers: int, reviews: int, *, seed: int = 0) -> list[int]:
    """Copy paper `paper_id` and its sections until the database holds `papers` papers; add
    `reviews` review requests on copies' main texts. Returns the copies' paper ids."""
    store = Store.open(url, create=False)
    engine = store.engine
    a_cols = [c.name for c in Artifact.__table__.columns if c.name != "id"]
    with engine.connect() as conn:
        paper = conn.execute(select(Artifact).where(Artifact.id == paper_id)).mappings().one()
        sections = dict(paper["content_json"]["sections"])
        rows = {r["id"]: dict(r) for r in conn.execute(
            select(Artifact).where(Artifact.id.in_(sections.values()))).mappings()}
        edges = [dict(r) for r in conn.execute(select(ProvenanceEdge).where(
            ProvenanceEdge.child_id.in_([paper_id, *sections.values()]))).mappings()]
        next_id = int(conn.execute(select(Artifact.id).order_by(Artifact.id.desc())).scalar()
                      or 0) + 1
    family = [paper_id, *sections.values()]
    new_artifacts: list[dict[str, Any]] = []
    new_edges: list[dict[str, Any]] = []
    new_events: list[dict[str, Any]] = []
    copies: list[int] = []
    mains: list[int] = []
    for k in range(papers - 1):
        ids = {old: next_id + i for i, old in enumerate(family)}
        next_id += len(family)
        for old in family:
            source = dict(paper) if old == paper_id else rows[old]
            row = {c: source[c] for c in a_cols}
            row["id"] = ids[old]
            row["step_key"] = f"{source['step_key']}#copy{k}" if source["step_key"] else None
            row["created_at"] = NOW
            if old == paper_id:
                content = dict(source["content_json"])
                content["sections"] = {n: ids[i] for n, i in sections.items()}
                row["content_json"] = content
                row["title"] = f"{source['title']} (copy {k})"
            new_artifacts.append(row)
            new_events.append({"artifact_id": ids[old], "status": source["initial_status"],
                               "reason": None, "created_at": NOW})
        for e in edges:
            new_edges.append({"child_id": ids[e["child_id"]],
                              "parent_id": ids.get(e["parent_id"], e["parent_id"]),
                              "relation": e["relation"]})
        copies.append(ids[paper_id])
        mains.append(ids[sections["main_text"]])
    with engine.begin() as conn:
        for start in range(0, len(new_artifacts), 5000):
            conn.execute(insert(Artifact.__table__), new_artifacts[start:start + 5000])
        for start in range(0, len(new_events), 5000):
            conn.execute(insert(ArtifactEvent.__table__), new_events[start:start + 5000])
        for start in range(0, len(new_edges), 5000):
            conn.execute(insert(ProvenanceEdge.__table__), new_edges[start:start + 5000])
        picked = random.Random(seed).sample(mains, min(reviews, len(mains)))
        conn.execute(insert(Flaw.__table__), [
            {"artifact_id": m, "category": "overclaiming", "severity": "critical",
             "description": "the effect is overstated", "created_at": NOW}
            for m in picked[::5]])
        conn.execute(insert(ReviewRequest.__table__), [
            {"artifact_id": m, "reason": "check the main text", "status": "open",
             "created_at": NOW} for m in picked])
    store.close()
    return copies


async def measure(url: str, routes: dict[str, str], requests: int) -> dict[str, list[float]]:
    """Latencies (seconds) of `requests` GETs of each route, interleaved, after a warm-up."""
    import httpx

    from autoalign.web import WebConfig, create_app

    app = create_app(WebConfig(url=url))
    times: dict[str, list[float]] = {name: [] for name in routes}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for route in routes.values():
            for _ in range(3):
                assert (await client.get(route)).status_code == 200, route
        for _ in range(requests):
            for name, route in routes.items():
                if name.endswith("(built)"):
                    app.state.stores.queue_cache.clear()  # as after any change to the database
                start = time.perf_counter()
                resp = await client.get(route)
                times[name].append(time.perf_counter() - start)
                assert resp.status_code == 200, route
    app.state.stores.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50, help="requests per page")
    parser.add_argument("--reviews", type=int, default=200, help="open review requests")
    args = parser.parse_args()
    from tests.web.conftest import build

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        research = build(Path(folder) / "research.db", payloads=False)
        url = f"sqlite:///{research.path}"
        copies = grow(url, research.paper_id, args.papers, args.reviews)
        built = time.perf_counter() - start
        store = Store.open(url, create=False)
        papers = store.count_artifacts(kind="paper")
        open_requests = store.count_review_requests()
        store.close()
        print(f"database: {papers:,} papers, {open_requests} open review requests "
              f"(built in {built:.1f} s)")
        middle = copies[len(copies) // 2]
        routes = {"static page": "/static/ping.html", "paper page": f"/papers/{middle}",
                  "queue (built)": "/queue", "queue (reload)": "/queue",
                  "paper list": "/papers"}
        times = asyncio.run(measure(url, routes, args.requests))
    base = statistics.median(times["static page"])
    print(f"{'page':<14} {'median ms':>10} {'p95 ms':>8} {'ratio to static (median)':>26}"
          f"   n={args.requests} each")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        med = statistics.median(values)
        print(f"{name:<14} {med * 1000:>10.2f} {p95 * 1000:>8.2f} {med / base:>26.1f}")


if __name__ == "__main__":
    main()
