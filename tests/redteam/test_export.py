"""`autoalign redteam export`: organic flaws grouped across critics, texts for the realism
check and an experiment's trials, written from the database and read by `redteam report`."""

from __future__ import annotations

import json
from pathlib import Path

from autoalign.critics import Finding, FlawCategory, Location, Severity
from autoalign.redteam import export, group_flaws, organic_flaws, stored_location
from autoalign.store import Store
from autoalign.vocabulary import Kind, Stage
from tests.cli.helpers import invoke

TEXT = (
    "The penalty cut reward hacking by 0.31 (95% interval 0.20 to 0.42) on every testbed we "
    "know of, so it will work at any scale. A second seed gave 0.9731 with no run behind it. "
    "The baseline rose, which no log row shows, and the treated arm was tuned on its own seeds."
)


def _finding(artifact: int, category: FlawCategory, *, field: str | None = "text",
             start: int | None = None, end: int | None = None,
             line: int | None = None) -> dict[str, str]:
    f = Finding(
        category=category, severity=Severity.MAJOR, description="a flaw",
        location=Location(artifact_id=artifact, field=field, start=start, end=end, line=line),
    )
    return {"category": f.category.value, "severity": f.severity.value,
            "description": f.stored_description()}


def _paper(store: Store, name: str = "real") -> int:
    run = store.create_run(name=name, agenda_digest=name, config={})
    return store.add_artifact(
        run_id=run.id, kind=Kind.MAIN_TEXT, stage=Stage.WRITEUP, content_text=TEXT,
        content_json={"text": TEXT, "code": "x = 1\ny = 2\nreport(y)\n"},
    ).id


def _record(store: Store, artifact: int, critic: str, items: list[dict[str, str]]) -> None:
    store.add_flaws(artifact_id=artifact, found_by_id=None, items=items, critic=critic,
                    critic_version="1")


def test_flaws_of_several_critics_on_one_place_are_one_flaw(store: Store) -> None:
    art = _paper(store)
    oc, nm = FlawCategory.OVERCLAIMING, FlawCategory.NUMBER_MISMATCH
    # a and b: the same overclaim at overlapping spans; c: the same category elsewhere.
    _record(store, art, "c.a", [_finding(art, oc, start=90, end=130),
                                _finding(art, nm, start=150, end=160)])
    _record(store, art, "c.b", [_finding(art, oc, start=120, end=140),
                                _finding(art, nm, field="code", line=2)])
    _record(store, art, "c.c", [_finding(art, oc, start=200, end=230),
                                _finding(art, nm, field="code", line=2),
                                # no span: overlaps anything of its category on its field
                                _finding(art, FlawCategory.METHOD_FLAW, field=None)])
    # A flaw recorded by hand (no critic) says nobody's detection.
    store.add_flaw(artifact_id=art, category=oc.value, severity="major", description="by hand")
    groups, no_critic = organic_flaws(store)
    histories = sorted((g.category, sorted(g.found_by), len(g.records)) for g in groups)
    assert histories == [
        ("method_flaw", ["c.c@1"], 1),
        ("number_mismatch", ["c.a@1"], 1),
        ("number_mismatch", ["c.b@1", "c.c@1"], 2),
        ("overclaiming", ["c.a@1", "c.b@1"], 2),
        ("overclaiming", ["c.c@1"], 1),
    ]
    assert no_critic == 1
    loc = stored_location(store.flaws(critic="c.b")[1])
    assert (loc.field, loc.line, loc.start) == ("code", 2, None)


def test_a_record_bridging_two_groups_merges_them(store: Store) -> None:
    art = _paper(store)
    oc = FlawCategory.OVERCLAIMING
    _record(store, art, "c.a", [_finding(art, oc, start=0, end=10)])
    _record(store, art, "c.b", [_finding(art, oc, start=40, end=50)])
    _record(store, art, "c.c", [_finding(art, oc, start=5, end=45)])
    groups = group_flaws(store.flaws())
    assert [sorted(g.found_by) for g in groups] == [["c.a@1", "c.b@1", "c.c@1"]]


def test_flaws_on_the_red_teams_own_runs_are_not_organic(store: Store) -> None:
    real = _paper(store)
    organism = _paper(store, "organism-run")
    store.add_organism_flaw(run_id=store.artifact(organism).run_id or 0, organism="o",
                            flaw_type="invented_number", step_key="s", field="text", detail="d")
    for art in (real, organism):
        _record(store, art, "c.a", [_finding(art, FlawCategory.OVERCLAIMING, start=0, end=5)])
    groups, _ = organic_flaws(store)
    assert [g.artifact_id for g in groups] == [real]


CONFIG = '''
name = "exp"
critics = ["c1.code-integrity", "c2.numbers-match", "c2.abstract-scope"]
flaw_types = ["swallowed-error", "number-differs-from-log", "abstract-exceeds-main"]
injections_per_type = 2
controls = 1
'''


def test_export_feeds_capture_recapture_and_realism_in_the_report(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    (tmp_path / "rt.toml").write_text(CONFIG)
    ran = invoke("--db", db, "redteam", "run", "rt.toml", "--quiet", cwd=tmp_path)
    assert ran.code == 0, ran.err
    with Store.open(db) as store:
        arts = [_paper(store, f"real{i}") for i in range(3)]
        oc, nm = FlawCategory.OVERCLAIMING, FlawCategory.NUMBER_MISMATCH
        for art in arts:  # per paper: one overclaim both find, one number only c.b finds
            _record(store, art, "c.a", [_finding(art, oc, start=90, end=130)])
            _record(store, art, "c.b", [_finding(art, oc, start=100, end=125),
                                        _finding(art, nm, start=150, end=180)])
        _record(store, arts[0], "c.c", [_finding(arts[0], nm, start=160, end=170)])
        experiment = store.redteam_experiment("exp")
        injections = len(store.redteam_injections(experiment.id))
        n_trials = len(store.redteam_trials(experiment.id))

    out = invoke("--db", db, "redteam", "export", "--out", "in", cwd=tmp_path)
    assert out.code == 0, out.err
    assert "organic flaws: 6" in out.out
    folder = tmp_path / "in"
    organic = [json.loads(line) for line in (folder / "organic.jsonl").read_text().splitlines()]
    assert sorted(len(o["found_by"]) for o in organic) == [1, 1, 2, 2, 2, 2]
    assert all(sorted(o["critics"]) == ["c.a@1", "c.b@1", "c.c@1"] for o in organic)
    texts = [json.loads(line) for line in (folder / "texts.jsonl").read_text().splitlines()]
    assert sum(t["injected"] for t in texts) == injections
    assert sum(not t["injected"] for t in texts) == 6
    assert TEXT[100:125] in {t["text"] for t in texts}  # the narrowest span of the group
    assert len((folder / "trials.jsonl").read_text().splitlines()) == n_trials

    report = invoke("redteam", "report", "--trials", "in/trials.jsonl", "--organic",
                    "in/organic.jsonl", "--texts", "in/texts.jsonl", "--out", "rep",
                    "--no-figures", "--n-boot", "50", cwd=tmp_path)
    assert report.code == 0, report.err
    got = json.loads((tmp_path / "rep" / "redteam-report.json").read_text())
    assert "capture_recapture" not in got["empty"] and "realism" not in got["empty"]
    pop = [m for m in got["metrics"] if m["name"] == "population_size"]
    chao = next(m for m in pop if m["method"] == "chao")
    assert chao["n"] == 6 and chao["detail"]["critics"] == 3
    realism = next(m for m in got["metrics"] if m["name"] == "realism_auc")
    assert realism["n"] == injections + 6
    assert (realism["detail"]["injected"], realism["detail"]["organic"]) == (injections, 6)


def test_without_an_experiment_only_organic_files_are_written(store: Store,
                                                             tmp_path: Path) -> None:
    art = _paper(store)
    _record(store, art, "c.a", [_finding(art, FlawCategory.OVERCLAIMING, start=0, end=5)])
    done = export(store, tmp_path / "o")
    assert done.trials is None and done.n_organic == 1 and done.n_organic_texts == 1
    assert not (tmp_path / "o" / "trials.jsonl").exists()
