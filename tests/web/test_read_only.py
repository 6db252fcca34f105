"""The app reads through connections that refuse writes, on SQLite and PostgreSQL; a review
decision still writes, through its own store."""

from __future__ import annotations

import re

import httpx
import pytest

from autoalign.errors import StoreError
from autoalign.store import Store
from autoalign.web import WebConfig, create_app

SECRET = "carol-secret-0123456789"


async def test_reads_refuse_writes_and_a_decision_writes(store: Store, db_url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    artifact = store.add_artifact(run_id=None, kind="note", stage="test", title="a note")
    request = store.add_review_request(artifact_id=artifact.id, reason="look")
    app = create_app(WebConfig(url=db_url, tokens={SECRET: "carol"}))
    stores = app.state.stores
    try:
        with pytest.raises((DBAPIError, StoreError)):
            stores.read.add_review_request(artifact_id=artifact.id, reason="sneaky")
        assert stores.read.count_review_requests() == 1
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = (await c.get("/login")).text
            csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
            resp = await c.post(f"/review/{request}", data={"decision": "dismiss",
                                                            "csrf_token": csrf},
                                headers={"Authorization": f"Bearer {SECRET}"})
            assert resp.status_code == 303
    finally:
        stores.close()
    (label,) = store.review_labels(request_id=request)
    assert (label.reviewer, label.decision) == ("carol", "dismiss")
