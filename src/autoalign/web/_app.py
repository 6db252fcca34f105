"""The FastAPI app of `autoalign serve`: server-rendered pages over one research database.

Reads go through a store whose connections refuse writes (`make_read_only`); the review form's
POST is the only write, through a second store opened writable on first use, and it calls
`autoalign.review.decide` exactly as `autoalign review decide` does (same label, reviewer and
time; a confirm rolls back). Every page is a Jinja2 template with autoescaping on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from ..errors import AutoalignError, DataError, UsageError
from ..store import Store
from ._graph import neighbourhood, render_svg
from ._security import (
    CSRF_COOKIE,
    SECURITY_HEADERS,
    TOKEN_COOKIE,
    Csrf,
    make_read_only,
    reviewer_for,
)

HERE = Path(__file__).parent
PAGE_SIZE = 50
"""Rows per page of the paper list."""
LIST_LIMIT = 500
"""Most claims or flaws one listing page shows (the newest)."""

TruthFor = Callable[[str], Sequence[Any]]


@dataclass(kw_only=True)
class WebConfig:
    """What `create_app` needs."""

    url: str
    """SQLAlchemy URL of the research database."""
    tokens: dict[str, str] = field(default_factory=dict)
    """Reviewer tokens: secret → reviewer name. Without any, the app is read-only."""
    truth_for: TruthFor | None = None
    """Ground truth of a testbed for the calibration page (default: the testbeds' cache)."""
    n_boot: int = 1000
    """Bootstrap replicates of the calibration and red-team intervals."""


class _Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "max-age=3600"
        return response


class _Stores:
    """The read-only store, and the writable one the review POST opens on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.read = Store.open(url, create=False, writable=False, migrate=False)
        make_read_only(self.read.engine)
        self._write: Store | None = None
        self.queue_cache: dict[bool, tuple[Any, list[Any]]] = {}
        """The last review queue built, with and without the resolved requests, and the
        `review_marker` it was built at."""
        self._lock = threading.Lock()

    def writer(self) -> Store:
        with self._lock:
            if self._write is None:
                self._write = Store.open(self.url, create=False, writable=True, migrate=False)
            return self._write

    def close(self) -> None:
        self.read.close()
        if self._write is not None:
            self._write.close()


def create_app(config: WebConfig) -> FastAPI:
    """The web app over `config.url`.

    Raises:
        StoreError: the database is missing, unreachable or of a newer schema.
    """
    from . import _pages

    stores = _Stores(config.url)
    csrf = Csrf()
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        stores.close()

    app = FastAPI(title="autoalign", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.add_middleware(_Headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # Autoescaping on for every template, whatever its file name ends in.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=env)
    app.state.stores = stores
    app.state.config = config

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        nonce = request.cookies.get(CSRF_COOKIE) or Csrf.new_nonce()
        reviewer = reviewer_for(config.tokens, request.cookies.get(TOKEN_COOKIE))
        response: HTMLResponse = templates.TemplateResponse(
            request, name,
            {"csrf": csrf.token(nonce), "reviewer": reviewer,
             "can_review": bool(config.tokens), **context},
            status_code=status,
        )
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict")
        return response

    def fail(request: Request, exc: AutoalignError) -> HTMLResponse:
        status = 404 if isinstance(exc, DataError) else 400
        return page(request, "error.html", status=status, message=str(exc))

    def who(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else None
        return reviewer_for(config.tokens, bearer or request.cookies.get(TOKEN_COOKIE))

    def csrf_ok(request: Request, token: str) -> bool:
        return csrf.check(request.cookies.get(CSRF_COOKIE), token)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return page(request, "index.html", runs=_pages.runs(stores.read),
                    open_requests=stores.read.count_review_requests())

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run(request: Request, run_id: int) -> HTMLResponse:
        try:
            return page(request, "run.html", **_pages.run(stores.read, run_id))
        except AutoalignError as exc:
            return fail(request, exc)

    @app.get("/papers", response_class=HTMLResponse)
    def papers(request: Request, run: int | None = None, before: int | None = None
               ) -> HTMLResponse:
        shown = stores.read.artifact_summaries(run_id=run, kind="paper", before=before,
                                               limit=PAGE_SIZE)
        shown = list(reversed(shown))  # newest first
        older = shown[-1].id if len(shown) == PAGE_SIZE else None
        return page(request, "papers.html", papers=shown, run=run, older=older)

    @app.get("/papers/{paper_id}", response_class=HTMLResponse)
    def paper(request: Request, paper_id: int) -> HTMLResponse:
        try:
            return page(request, "paper.html", **_pages.paper(stores.read, paper_id))
        except AutoalignError as exc:
            return fail(request, exc)
        except ValueError as exc:  # a paper whose stored content is not a paper's
            return fail(request, DataError(
                f"artifact {paper_id} cannot be read as a paper ({type(exc).__name__}); "
                f"see /artifacts/{paper_id}"))

    @app.get("/artifacts/{artifact_id}", response_class=HTMLResponse)
    def artifact(request: Request, artifact_id: int, depth: int = 3) -> HTMLResponse:
        try:
            context = _pages.artifact(stores.read, artifact_id)
            graph = neighbourhood(stores.read, artifact_id, depth=max(1, min(depth, 6)))
        except AutoalignError as exc:
            return fail(request, exc)
        return page(request, "artifact.html", svg=render_svg(graph), depth=depth,
                    drawn=len(graph.nodes), **context)

    @app.get("/artifacts/{artifact_id}/graph.svg")
    def graph_svg(artifact_id: int, depth: int = 3) -> Response:
        try:
            graph = neighbourhood(stores.read, artifact_id, depth=max(1, min(depth, 6)))
        except AutoalignError as exc:
            return Response(str(exc), status_code=404, media_type="text/plain")
        return Response(render_svg(graph), media_type="image/svg+xml")

    @app.get("/claims", response_class=HTMLResponse)
    def claims(request: Request) -> HTMLResponse:
        found = stores.read.claims()
        return page(request, "claims.html", claims=list(reversed(found))[:LIST_LIMIT],
                    total=len(found))

    @app.get("/flaws", response_class=HTMLResponse)
    def flaws(request: Request) -> HTMLResponse:
        return page(request, "flaws.html", **_pages.flaws(stores.read, LIST_LIMIT))

    @app.get("/queue", response_class=HTMLResponse)
    def queue(request: Request, all_: bool = Query(False, alias="all")) -> HTMLResponse:
        from ..review import review_queue

        # The queue asks the store a few queries per request; it is built again only when the
        # database changed since (`review_marker`), so reloading it is cheap.
        marker = (stores.read.review_marker(), all_)
        cached = stores.queue_cache.get(all_)
        if cached is not None and cached[0] == marker:
            entries = cached[1]
        else:
            entries = review_queue(stores.read, include_resolved=all_)
            stores.queue_cache[all_] = (marker, entries)
        return page(request, "queue.html", entries=entries, all=all_)

    @app.get("/review/{request_id}", response_class=HTMLResponse)
    def review(request: Request, request_id: int) -> HTMLResponse:
        try:
            return page(request, "review.html", **_pages.review(stores.read, request_id))
        except AutoalignError as exc:
            return fail(request, exc)

    @app.post("/review/{request_id}", response_class=HTMLResponse)
    def decide(
        request: Request,
        request_id: int,
        decision: str = Form(),
        csrf_token: str = Form(""),
        seen_labels: int = Form(-1),
        flaw_id: str = Form(""),
        comment: str = Form(""),
        severity: str = Form(""),
    ) -> Response:
        from ..review import decide as record
        from ..vocabulary import ReviewDecision, Severity

        if not csrf_ok(request, csrf_token):
            return page(request, "error.html", status=403,
                        message="the form's CSRF token is missing or stale; reload the page "
                        "and decide again")
        reviewer = who(request)
        if reviewer is None:
            return page(request, "error.html", status=401,
                        message="deciding needs a reviewer token: sign in on the login page "
                        "with the token `autoalign serve --token NAME=SECRET` was given")
        try:
            choice = ReviewDecision(decision)
            corrected = Severity(severity) if severity else None
            flaw = int(flaw_id) if flaw_id else None
        except ValueError:
            return fail(request, UsageError(
                f"decision {decision!r}, severity {severity!r} or flaw {flaw_id!r} is not one "
                "the form offers"))
        try:
            context = _pages.review(stores.read, request_id)
            labels = context["view"].labels
            if seen_labels >= 0 and len(labels) != seen_labels:
                # Someone decided since this reviewer loaded the page: show them, record nothing.
                return page(request, "review.html", status=409, conflict=True, **context)
            writer = stores.writer()
            done = record(writer, request_id, decision=choice, reviewer=reviewer,
                          flaw_id=flaw, comment=comment, corrected_severity=corrected)
        except AutoalignError as exc:
            return fail(request, exc)
        return RedirectResponse(f"/review/{request_id}?recorded={done.label.id}",
                                status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html")

    @app.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = Form(""), csrf_token: str = Form("")
              ) -> Response:
        if not csrf_ok(request, csrf_token):
            return page(request, "error.html", status=403,
                        message="the form's CSRF token is missing or stale; reload and retry")
        if reviewer_for(config.tokens, token) is None:
            return page(request, "login.html", status=401, wrong=True)
        response = RedirectResponse("/queue", status_code=303)
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        if not csrf_ok(request, csrf_token):
            return page(request, "error.html", status=403, message="stale CSRF token")
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(TOKEN_COOKIE)
        return response

    @app.get("/calibration", response_class=HTMLResponse)
    def calibration(request: Request) -> HTMLResponse:
        return page(request, "calibration.html",
                    **_pages.calibration(stores.read, config.truth_for, config.n_boot))

    @app.get("/calibration.png")
    def calibration_png() -> Response:
        data = _pages.calibration_png(stores.read, config.truth_for, config.n_boot)
        if data is None:
            return Response("no claims with ground truth", status_code=404,
                            media_type="text/plain")
        return Response(data, media_type="image/png")

    @app.get("/redteam", response_class=HTMLResponse)
    def redteam(request: Request) -> HTMLResponse:
        return page(request, "redteam.html", **_pages.redteam(stores.read, config.n_boot))

    @app.get("/redteam/{name}")
    def redteam_png(name: str) -> Response:
        data = _pages.redteam_png(stores.read, config.n_boot, name)
        if data is None:
            return Response("no such red-team figure", status_code=404, media_type="text/plain")
        return Response(data, media_type="image/png")

    @app.get("/case", response_class=HTMLResponse)
    def case(request: Request) -> HTMLResponse:
        return page(request, "case.html", **_pages.safety_case(stores.read))

    return app


__all__ = ["WebConfig", "create_app"]
