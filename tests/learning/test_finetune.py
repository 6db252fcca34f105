"""Exporting labels for fine-tuning elsewhere, and registering the fine-tuned model as a critic
version that answers the critic's calls in new runs."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from autoalign.errors import ConfigError, DataError
from autoalign.learning import collect_labels, export_finetune, register_fine_tuned
from autoalign.models import register_script
from autoalign.pipeline import run_agenda
from autoalign.redteam import parse_config, run_experiment
from autoalign.store import NewLabel, Store
from autoalign.vocabulary import Kind, LabelKind, LabelSource, UpdateKind

from ..pipeline.conftest import Team
from ..pipeline.test_run import agenda


def _labelled(store: Store) -> None:
    config = parse_config({"name": "t", "critics": ["c2.numbers-match", "c1.code-integrity"],
                           "flaw_types": ["number-differs-from-log", "tests-edited"],
                           "injections_per_type": 1, "controls": 1})
    asyncio.run(run_experiment(store, config))
    collect_labels(store)
    store.add_labels([NewLabel(  # an organism's project: no subject to rebuild
        kind=LabelKind.ARTIFICIAL, source=LabelSource.ORGANISM, source_ref="organism:1:x",
        subject="organism:1:x", present=True, severe=True, critic="c2.investigate@1",
        detected=False, known_at=datetime.now(UTC),
    )])


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_export_writes_valid_split_chat_and_datasets_layouts(
    store: Store, tmp_path: Path
) -> None:
    _labelled(store)
    labels = {r.id: r for r in store.labels()}
    done = export_finetune(store, tmp_path / "out", validation=0.25, seed=1)
    assert done.skipped == {"no stored subject (organism)": 1}
    assert done.total == len(labels) - 1
    assert set(done.counts) == {LabelKind.ARTIFICIAL.value}
    by = done.counts[LabelKind.ARTIFICIAL.value]
    assert by["validation"] == round(done.total * 0.25)
    assert by["train"] == done.total - by["validation"]

    injections = {i.subject_key: i for e in store.redteam_experiments()
                  for i in store.redteam_injections(e.id)}
    seen: set[int] = set()
    for split in ("train", "validation"):
        chat = _rows(tmp_path / "out" / "openai" / f"{split}.jsonl")
        full = _rows(tmp_path / "out" / "hf" / "data" / f"{split}.jsonl")
        assert len(chat) == len(full) == by[split]
        for c, row in zip(chat, full, strict=True):
            assert set(c) == {"messages"} and c["messages"] == row["messages"]
            messages = row["messages"]
            assert isinstance(messages, list)
            assert [m["role"] for m in messages] == ["system", "user", "assistant"]
            label = labels[int(str(row["label_id"]))]
            seen.add(label.id)
            target = json.loads(messages[2]["content"])
            assert target == {"flaw_present": label.present, "severe": label.severe,
                              "flaw_type": label.flaw_type if label.present else None}
            assert row["critic"] == label.critic and row["label_source"] == "redteam_trial"
            assert "<subject>" in messages[1]["content"]
            inj = injections.get(label.subject)
            if inj is not None and inj.after.strip():  # the tampered copy is what is shown
                shown = inj.after.strip()[:40]
                assert (shown in messages[1]["content"]
                        or json.dumps(shown)[1:-1] in messages[1]["content"])
    assert len(seen) == done.total

    card = (tmp_path / "out" / "hf" / "README.md").read_text(encoding="utf-8")
    header = YAML(typ="safe").load(StringIO(card.split("---\n")[1]))
    (config,) = header["configs"]
    assert {f["split"]: f["path"] for f in config["data_files"]} == {
        "train": "data/train.jsonl", "validation": "data/validation.jsonl"}
    names = [f["name"] for f in header["dataset_info"]["features"]]
    assert {"messages", "label_kind", "label_source", "present"} <= set(names)
    assert {s["name"]: s["num_examples"] for s in header["dataset_info"]["splits"]} == by
    if importlib.util.find_spec("datasets") is not None:  # pragma: no cover - optional
        import datasets  # type: ignore[import-not-found,unused-ignore]

        loaded = datasets.load_dataset(str(tmp_path / "out" / "hf"))
        assert loaded["train"].num_rows == by["train"]


def test_an_organic_label_exports_its_artifact_text(store: Store, tmp_path: Path) -> None:
    run = store.create_run(name="r", agenda_digest="d" * 64, config={})
    paper = store.add_artifact(run_id=run.id, kind=Kind.PAPER, stage="writeup",
                               content_text="A paper that overclaims.")
    store.add_labels([NewLabel(
        kind=LabelKind.ORGANIC, source=LabelSource.REVIEW, source_ref="review_label:1",
        subject=f"artifact:{paper.id}", artifact_id=paper.id, present=True, severe=False,
        flaw_type="overclaiming", critic="c2.claim-strength@1", detected=True,
        known_at=datetime.now(UTC),
    )])
    done = export_finetune(store, tmp_path, validation=0.0)
    assert done.counts == {"organic": {"train": 1, "validation": 0}}
    (row,) = _rows(tmp_path / "openai" / "train.jsonl")
    assert "A paper that overclaims." in row["messages"][1]["content"]  # type: ignore[index]


def test_registering_a_programmatic_critic_or_a_bad_export_is_refused(
    store: Store, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="programmatic"):
        register_fine_tuned(store, "c2.numbers-match", "scripted:x")
    with pytest.raises(DataError, match="missing"):
        register_fine_tuned(store, "c2.investigate", "scripted:x", export_dir=tmp_path)
    assert store.critic_versions() == []


async def test_a_registered_model_answers_the_critic_and_its_results_name_the_version(
    store: Store, tmp_path: Path
) -> None:
    team, tuned = Team(), Team()
    register_script(f"ft-team-{id(store)}", team)
    register_script(f"ft-tuned-{id(store)}", tuned)
    export_finetune(store, tmp_path)  # an empty export still has a digest
    version = register_fine_tuned(store, "c2.investigate", f"scripted:ft-tuned-{id(store)}",
                                  export_dir=tmp_path)
    assert version.update == UpdateKind.FINE_TUNED and version.applied
    assert version.version == "1+fine_tuned.1" and version.params["export_digest"]

    summary = await run_agenda(agenda(f"scripted:ft-team-{id(store)}"), store=store)
    assert summary.run.status == "completed", summary.run.stop_reason
    # The investigator's calls went to the registered model, and only those.
    assert tuned.count("FlawCheck") >= 1 and team.count("FlawCheck") == 0
    assert {n for n, _ in tuned.calls} == {"FlawCheck"}
    flaws = [f for f in store.flaws() if f.critic == "c2.investigate"]
    assert flaws and {f.critic_version for f in flaws} == {"1+fine_tuned.1"}
    reports = store.artifacts(run_id=summary.run.id, kind=Kind.PAPER_CRITIQUE)
    confirmed = [f for r in reports for f in r.content_json["flaws"]
                 if f["status"] == "confirmed"]
    assert confirmed and {f["critic"] for f in confirmed} == {"c2.investigate@1+fine_tuned.1"}


async def test_a_registered_model_that_cannot_be_called_stops_the_run_before_it_starts(
    store: Store,
) -> None:
    register_script(f"ft-main-{id(store)}", Team())
    register_fine_tuned(store, "c2.investigate", f"scripted:ft-never-registered-{id(store)}")
    with pytest.raises(ConfigError, match="ft-never-registered"):
        await run_agenda(agenda(f"scripted:ft-main-{id(store)}"), store=store)
    assert store.list_runs() == []
