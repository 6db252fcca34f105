"""`autoalign learn weights / export / register-model` through the real CLI."""

from __future__ import annotations

from pathlib import Path

from autoalign.pipeline import JUDGE_AGGREGATION
from autoalign.store import Store
from autoalign.vocabulary import UpdateKind

from ..learning.test_weights import GOOD, _pairs
from .helpers import invoke, one_error_line


def test_learn_weights_export_and_register_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Store.open(url) as store:
        _pairs(store, {GOOD: [True] * 12, "scripted:bad-judge": [False] * 12})

    refit = invoke("--db", url, "learn", "weights", cwd=tmp_path)
    assert refit.code == 0, refit.err
    assert "judges.stage1@1+judge_weights.1 applied" in refit.out
    assert f"{GOOD}: agrees 8/8" in refit.out
    assert "held out, refit weights: log loss" in refit.out

    exported = invoke("--db", url, "learn", "export", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert exported.code == 0, exported.err
    assert "0 example(s) written" in exported.out
    assert (tmp_path / "x" / "hf" / "README.md").is_file()

    registered = invoke("--db", url, "learn", "register-model", "c2.investigate",
                        "scripted:tuned", "--export", str(tmp_path / "x"), cwd=tmp_path)
    assert registered.code == 0, registered.err
    assert "c2.investigate@1+fine_tuned.1: scripted:tuned plays c2.investigate" in registered.out

    refused = invoke("--db", url, "learn", "register-model", "c2.numbers-match",
                     "scripted:tuned", cwd=tmp_path)
    assert refused.code == 1 and "programmatic" in one_error_line(refused)
    with Store.open(url) as store:
        assert store.active_update(JUDGE_AGGREGATION, UpdateKind.JUDGE_WEIGHTS) is not None
        assert store.active_update("c2.investigate", UpdateKind.FINE_TUNED) is not None
