"""Learning curves: the nearest-neighbour learner learns a new flaw type once its labels are
known, programmatic critics do not, every update is a critic version, and a killed curve
resumes without repeating rounds (assertions on stored records and on the curve's points)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from autoalign.errors import ConfigError
from autoalign.learning import (
    KNN,
    Curve,
    CurveConfig,
    build_curve,
    curve_json_schema,
    parse_curve_config,
    run_curve,
    write_curve,
)
from autoalign.models import register_script
from autoalign.store import Store
from autoalign.vocabulary import LabelSource, UpdateKind
from tests.pipeline.conftest import Team

NEW = "hallucinated-reference"
PROGRAMMATIC = "c1.results-produced"


def _config(**overrides: Any) -> CurveConfig:
    data: dict[str, Any] = {
        "name": "lc", "rounds": 5, "t0": 1, "label_delay": 2, "new_flaw_type": NEW,
        # per_type 5: 5/5 is the smallest all-caught round whose Wilson lower bound (0.57)
        # clears the default level of 0.5 with room; 3/3 (0.44) never could
        "old_flaw_types": ["unproduced-result"], "per_type": 5, "controls": 1, "seed": 3,
        "critics": [PROGRAMMATIC, KNN],
    }
    data.update(overrides)
    return parse_curve_config(data)


def _trials(store: Store, config: CurveConfig) -> dict[tuple[int, str, str], bool]:
    """(round, subject key, critic label) -> detected, for every stored trial of the curve."""
    by_name = {e.name: e for e in store.redteam_experiments()}
    out = {}
    for r in range(config.rounds):
        exp = by_name.get(config.round_name(r))
        if exp is None:
            continue
        for t in store.redteam_trials(exp.id):
            out[(r, t.subject_key, t.critic)] = t.detected
    return out


def test_knn_learns_the_new_type_only_once_its_labels_are_known(store: Store) -> None:
    config = _config()
    asyncio.run(run_curve(store, config))
    curve = build_curve(store, config)
    knn = config.learner_id(KNN)
    new = curve.of(knn, "new")
    assert [p.round for p in new] == [1, 2, 3, 4]  # the new type appears at t0 = 1
    first_known = config.t0 + config.label_delay
    assert all(p.detected == 0 and p.n > 0 for p in new if p.round < first_known)
    assert all(p.detected > 0 for p in new if p.round >= first_known)
    assert new[-1].rate == 1.0
    # it learned the wording, not to flag everything: no clean control is flagged
    assert all(p.detected == 0 for p in curve.of(knn, "controls"))
    # the same from the records: its trials on the new type before the labels are known
    injected = {}
    for r in range(config.rounds):
        exp = store.redteam_experiment(config.round_name(r))
        injected |= {(r, i.subject_key): i.flaw_type for i in store.redteam_injections(exp.id)}
    early = [d for (r, key, critic), d in _trials(store, config).items()
             if critic.startswith(f"{knn}@") and injected.get((r, key)) == NEW
             and r < first_known]
    assert early and not any(early)
    summary = next(c for c in curve.critics if c.critic == knn)
    assert summary.self_corrects_round is not None
    assert summary.self_corrects_round >= first_known
    assert summary.self_corrects_after == summary.self_corrects_round - config.t0


def test_programmatic_critics_do_not_learn(store: Store) -> None:
    config = _config()
    asyncio.run(run_curve(store, config))
    curve = build_curve(store, config)
    rates = {p.rate for p in curve.of(PROGRAMMATIC, "new")}
    assert len(rates) == 1  # flat
    assert {p.version for p in curve.points if p.critic == PROGRAMMATIC} == {"1"}
    summary = next(c for c in curve.critics if c.critic == PROGRAMMATIC)
    assert summary.versions == ["1"] and summary.self_corrects_round is None
    assert store.critic_versions(critic=PROGRAMMATIC) == []
    # it still catches the old type it was built for: the curve measures, it does not break it
    assert all(p.detected > 0 for p in curve.of(PROGRAMMATIC, "old"))


def test_each_learner_update_is_a_critic_version(store: Store) -> None:
    config = _config()
    asyncio.run(run_curve(store, config))
    knn = config.learner_id(KNN)
    rows = store.critic_versions(critic=knn)
    assert rows and all(r.update == UpdateKind.FLAW_LIBRARY and r.applied for r in rows)
    assert all({"entries", "last_label_id", "digest"} <= set(r.params) for r in rows)
    assert [r.params["entries"] for r in rows] == sorted({r.params["entries"] for r in rows})
    used = {label.partition("@")[2] for (_, _, label) in _trials(store, config)
            if label.startswith(f"{knn}@")}
    assert used == {"1"} | {r.version for r in rows}  # base version, then one per update
    # each version's snapshot is labels the curve had collected, of rounds known by then
    labels = {r.id: r for r in store.labels()}
    for row in rows:
        last = labels[row.params["last_label_id"]]
        assert last.source == LabelSource.REDTEAM_TRIAL
        assert last.source_ref.startswith(f"{config.name}.r")


def test_a_killed_curve_resumes_without_repeating_rounds(store: Store, tmp_path: Path) -> None:
    config = _config()

    class Killed(BaseException):
        pass

    def kill_after_two(done: int, _total: int) -> None:
        if done == 2:
            raise Killed

    with pytest.raises(Killed):
        asyncio.run(run_curve(store, config, progress=kill_after_two))
    before = _trials(store, config)
    assert {r for r, _, _ in before} == {0, 1}
    versions_before = [r.version for r in store.critic_versions()]
    resumed = asyncio.run(run_curve(store, config))
    assert resumed.rounds_skipped == [0, 1] and resumed.rounds_run == [2, 3, 4]
    after = _trials(store, config)
    assert {k: v for k, v in after.items() if k[0] < 2} == before
    assert [r.version for r in store.critic_versions()][: len(versions_before)] == versions_before
    again = asyncio.run(run_curve(store, config))
    assert again.rounds_run == [] and again.trials_written == 0
    assert _trials(store, config) == after
    # the same trials as a run that was never killed
    fresh = Store.open(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        asyncio.run(run_curve(fresh, config))
        assert _trials(fresh, config) == after
    finally:
        fresh.close()


def test_an_llm_critic_judges_every_round_at_one_version_and_is_not_asked_again(
    store: Store,
) -> None:
    scripted = Team()
    register_script("curve-team", scripted)
    config = _config(rounds=3, per_type=2, critics=["c1.spirit", KNN],
                     models={"default": "scripted:curve-team"})
    asyncio.run(run_curve(store, config))
    curve = build_curve(store, config)
    steps = [p for p in curve.points if p.critic == "c1.spirit"]
    assert {p.version for p in steps} == {"1"} and {p.round for p in steps} == {0, 1, 2}
    judged = sum(p.n for p in steps)  # step subjects, controls included
    # at most one call per step subject (a control shown again is answered from the cache)
    calls = len(scripted.calls)
    assert 0 < calls <= judged
    asyncio.run(run_curve(store, config))
    assert len(scripted.calls) == calls


def test_a_curve_killed_inside_a_round_keeps_its_trials_and_finishes_the_round(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import autoalign.learning._curve as curve_module

    config = _config(rounds=3)
    real = curve_module.strict_match
    matched = 0

    class Killed(BaseException):
        pass

    def dies_on_the_twentieth(*args: Any, **kwargs: Any) -> bool:
        nonlocal matched
        matched += 1
        if matched == 20:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(curve_module, "strict_match", dies_on_the_twentieth)
    with pytest.raises(Killed):
        asyncio.run(run_curve(store, config))
    monkeypatch.setattr(curve_module, "strict_match", real)
    before = _trials(store, config)
    killed_in = max(r for r, _, _ in before)
    assert store.redteam_experiment(config.round_name(killed_in)).status == "failed"
    versions = [r.version for r in store.critic_versions()]
    resumed = asyncio.run(run_curve(store, config))
    assert resumed.rounds_run[0] == killed_in and killed_in not in resumed.rounds_skipped
    after = _trials(store, config)
    assert {k: v for k, v in after.items() if k in before} == before
    assert resumed.trials_written == len(after) - len(before)
    assert [r.version for r in store.critic_versions()][: len(versions)] == versions
    assert store.redteam_experiment(config.round_name(killed_in)).status == "completed"


def test_a_changed_config_under_the_same_name_is_refused(store: Store) -> None:
    asyncio.run(run_curve(store, _config(rounds=2)))
    with pytest.raises(ConfigError, match="another config"):
        asyncio.run(run_curve(store, _config(rounds=2, per_type=2)))


def test_curve_json_holds_n_and_intervals(store: Store, tmp_path: Path) -> None:
    config = _config(rounds=3)
    asyncio.run(run_curve(store, config))
    files = write_curve(build_curve(store, config), tmp_path / "out")
    point = curve_json_schema()["$defs"]["CurvePoint"]
    assert {"round", "critic", "version", "n", "rate", "low", "high"} <= set(point["required"])
    data = json.loads(files.json.read_text())
    assert data["schema"] == "autoalign.learning-curve"
    assert data["points"] and all(
        p["n"] >= 1 and 0 <= p["low"] <= p["rate"] <= p["high"] <= 1 for p in data["points"]
    )
    assert Curve.model_validate(data).rounds_done == [0, 1, 2]
    assert files.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| round | version |" in files.markdown.read_text()


@pytest.mark.parametrize(("change", "field"), [
    ({"t0": 5}, None),
    ({"new_flaw_type": "no-such-type"}, "new_flaw_type"),
    ({"old_flaw_types": [NEW]}, None),
    ({"critics": ["c1.nope"]}, "critics"),
    ({"label_delay": 0}, "label_delay"),
])
def test_bad_configs_name_the_problem(change: dict[str, Any], field: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(**change)
    assert caught.value.field == field


def test_the_example_config_is_valid_and_runs_offline() -> None:
    from autoalign.learning import curve_model_roles, load_curve_config

    example = load_curve_config(Path(__file__).resolve().parents[2]
                                / "examples" / "learning-curve.toml")
    assert KNN in example.critics
    assert curve_model_roles(example) == []  # no LLM critic unless uncommented
