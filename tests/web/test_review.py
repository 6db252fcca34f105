"""The decision form: the same label and rollback as `autoalign review decide`, behind a
reviewer token and a CSRF token; two reviewers do not overwrite each other."""

from __future__ import annotations

import httpx

from autoalign.store import Store

from .conftest import Research
from .test_pages import csrf_of, sign_in


def read(research: Research) -> Store:
    return Store.open(f"sqlite:///{research.path}", create=False)


async def test_a_confirm_records_the_label_and_rolls_back(
    client: httpx.AsyncClient, research: Research
) -> None:
    await sign_in(client, "alice-secret-0123456789")
    assert f'"/review/{research.request_id}"' in (await client.get("/queue")).text
    page = await client.get(f"/review/{research.request_id}")
    assert "decision as alice" in page.text
    resp = await client.post(f"/review/{research.request_id}", data={
        "decision": "confirm", "csrf_token": csrf_of(page.text), "seen_labels": "0",
        "flaw_id": str(research.flaw_id), "comment": "overstated indeed",
        "severity": "major",
    })
    assert resp.status_code == 303
    store = read(research)
    try:
        (label,) = store.review_labels(request_id=research.request_id)
        assert (label.reviewer, label.decision, label.flaw_id, label.corrected_severity,
                label.comment) == ("alice", "confirm", research.flaw_id, "major",
                                   "overstated indeed")
        assert store.review_request(research.request_id).resolution == "confirm"
        assert store.artifact(research.main_id).status == "flawed"
        downstream = store.descendants(research.main_id)
        assert research.paper_id in downstream
        assert {a.status for a in store.artifacts(ids=downstream)} == {"tainted"}
        reason = store.status_history(research.paper_id)[-1].reason or ""
        assert "alice" in reason and f"review {research.request_id}" in reason
    finally:
        store.close()
    shown = (await client.get(resp.headers["location"])).text
    assert "Decision recorded" in shown and "by alice" in shown
    # the queue shown before the decision is not shown again: the request left it
    assert f'"/review/{research.request_id}"' not in (await client.get("/queue")).text
    assert "(confirm)" in (await client.get("/queue?all=true")).text


async def test_a_post_needs_a_reviewer_token_and_a_csrf_token(
    client: httpx.AsyncClient, research: Research
) -> None:
    page = await client.get("/login")  # signed out, the review page shows no form
    form = {"decision": "dismiss", "csrf_token": csrf_of(page.text), "seen_labels": "0"}
    assert (await client.post(f"/review/{research.request_id}", data=form)).status_code == 401
    await sign_in(client, "alice-secret-0123456789")
    forged = {**form, "csrf_token": "0" * 64}
    assert (await client.post(f"/review/{research.request_id}", data=forged)).status_code == 403
    missing = {k: v for k, v in form.items() if k != "csrf_token"}
    assert (await client.post(f"/review/{research.request_id}", data=missing)).status_code == 403
    wrong = await client.post("/login", data={"token": "not-a-token-at-all-x",
                                              "csrf_token": csrf_of(page.text)})
    assert wrong.status_code == 401
    store = read(research)
    try:
        assert store.review_labels(request_id=research.request_id) == []
        assert store.artifact(research.main_id).status == "ok"
    finally:
        store.close()


async def test_a_bearer_token_works_for_scripts(
    client: httpx.AsyncClient, research: Research
) -> None:
    page = await client.get("/login")
    resp = await client.post(
        f"/review/{research.other_request_id}",
        data={"decision": "unsure", "csrf_token": csrf_of(page.text)},
        headers={"Authorization": "Bearer bob-secret-0123456789ab"},
    )
    assert resp.status_code == 303
    store = read(research)
    try:
        (label,) = store.review_labels(request_id=research.other_request_id)
        assert (label.reviewer, label.decision) == ("bob", "unsure")
        assert store.review_request(research.other_request_id).status == "open"
    finally:
        store.close()


async def test_two_reviewers_on_one_request_do_not_overwrite_each_other(
    client: httpx.AsyncClient, research: Research
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        await sign_in(client, "alice-secret-0123456789")
        await sign_in(other, "bob-secret-0123456789ab")
        alice_page = await client.get(f"/review/{research.request_id}")
        bob_page = await other.get(f"/review/{research.request_id}")
        target = f"/review/{research.request_id}"
        first = await client.post(target, data={
            "decision": "unsure", "csrf_token": csrf_of(alice_page.text), "seen_labels": "0"})
        assert first.status_code == 303
        # bob decided on the page as it was before alice's label: refused, shown hers
        late = await other.post(target, data={
            "decision": "dismiss", "csrf_token": csrf_of(bob_page.text), "seen_labels": "0"})
        assert late.status_code == 409 and "by alice" in late.text
        again = await other.get(target)
        second = await other.post(target, data={
            "decision": "dismiss", "csrf_token": csrf_of(again.text), "seen_labels": "1"})
        assert second.status_code == 303
    store = read(research)
    try:
        labels = store.review_labels(request_id=research.request_id)
        assert [(x.reviewer, x.decision) for x in labels] == [("alice", "unsure"),
                                                              ("bob", "dismiss")]
        assert store.review_request(research.request_id).resolution == "dismiss"
    finally:
        store.close()


async def test_the_app_reads_through_a_connection_that_refuses_writes(
    client: httpx.AsyncClient, research: Research
) -> None:
    import pytest
    from sqlalchemy.exc import OperationalError

    from autoalign.errors import StoreError

    stores = client._transport.app.state.stores  # type: ignore[attr-defined]
    with pytest.raises((OperationalError, StoreError)):
        stores.read.add_review_request(artifact_id=research.main_id, reason="sneaky")
    store = read(research)
    try:
        assert store.count_review_requests() == 2
    finally:
        store.close()
