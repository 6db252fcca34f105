"""`autoalign learn erase POLICY [--dry-run]` and `autoalign show artifact` on an erased
artifact, through the real CLI, and the web app's artifact page."""

from __future__ import annotations

from pathlib import Path

from autoalign.store import Store, content_digest, erased_mark
from autoalign.vocabulary import ErasureOutcome

from ..cli.helpers import invoke, one_error_line
from .erasure_world import build

POLICY = 'name = "cli-policy"\nbatch_size = 2\n[budget]\nmax_bytes_left = 0\n'


def _contents(store: Store) -> dict[int, str]:
    return {a.id: content_digest(a.content_text, a.content_json)[0] for a in store.artifacts()}


def test_a_dry_run_prints_the_plan_and_writes_nothing(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url) as store:
        w = build(store, tmp_path)
        before = _contents(store)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    result = invoke("learn", "erase", str(policy), "--dry-run", "--db", db_url, cwd=tmp_path)
    assert result.code == 0, result.err
    assert "would erase 5 artifact(s)" in result.out
    assert f"protected sandbox_run {w.reviewed}: open_review" in result.out
    assert f"protected sandbox_run {w.running}: run_not_finished" in result.out
    assert "dry run: nothing was written" in result.out
    with Store.open(db_url) as store:
        assert store.erasures() == []
        assert _contents(store) == before


def test_erasing_prints_the_records_and_show_says_it_was_erased(
    db_url: str, tmp_path: Path
) -> None:
    with Store.open(db_url) as store:
        w = build(store, tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    result = invoke("learn", "erase", str(policy), "--db", db_url, cwd=tmp_path)
    assert result.code == 0, result.err
    with Store.open(db_url) as store:
        erased = store.erasures(outcome=ErasureOutcome.ERASED)
        refused = store.erasures(outcome=ErasureOutcome.REFUSED)
        assert sorted(r.artifact_id for r in erased) == sorted(w.free)
        assert erased_mark(store.artifact(w.free[1]).content_json) is not None
    for r in erased:
        assert f"record {r.id}" in result.out
    assert len(refused) == 5 and "erased 5 artifact(s)" in result.out
    shown = invoke("show", "artifact", str(w.free[1]), "--db", db_url, cwd=tmp_path)
    assert shown.code == 0, shown.err
    assert "by policy cli-policy" in shown.out and "erased at" in shown.out
    assert "exit_code: 0" in shown.out  # the summary kept


def test_a_bad_policy_is_one_error_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('name = "p"\n[budget]\n', encoding="utf-8")
    line = one_error_line(invoke("learn", "erase", str(policy), "--dry-run", "--db",
                                 f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path))
    assert "policy.toml: budget:" in line


async def test_the_web_artifact_page_says_it_was_erased(tmp_path: Path) -> None:
    import httpx

    from autoalign.learning import apply_erasure
    from autoalign.web import WebConfig, create_app

    from .erasure_world import policy

    url = f"sqlite:///{tmp_path / 'web.db'}"
    with Store.open(url) as store:
        w = build(store, tmp_path)
        apply_erasure(store, policy())
    app = create_app(WebConfig(url=url, tokens={}, n_boot=10))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            erased = await c.get(f"/artifacts/{w.free[1]}")
            kept = await c.get(f"/artifacts/{w.reviewed}")
    finally:
        app.state.stores.close()
    assert erased.status_code == 200 and kept.status_code == 200
    assert "by policy test-policy" in erased.text
    assert "only the summary below is kept" in erased.text
    assert "only the summary below is kept" not in kept.text
