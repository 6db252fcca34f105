"""`autoalign learn labels`, `learn recalibrate` and `learn versions`, mounted on a fresh app the
way the CLI mounts them."""

from __future__ import annotations

import typer
from rich.console import Console
from typer.testing import CliRunner

from autoalign.cli._learn_labels import register
from autoalign.store import Store
from autoalign.vocabulary import UpdateKind

from .test_recalibrate import CRITIC, add_labels, simulate


def _app(url: str) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def _root() -> None:
        """Keep `learn` a named group."""

    register(app, lambda: Store.open(url), console=Console(width=300, highlight=False,
                                                              soft_wrap=True))
    return app


def test_labels_recalibrate_and_versions(db_url: str) -> None:
    with Store.open(db_url) as store:
        add_labels(store, *simulate(400, 11, power=3.0))
    runner = CliRunner()

    labels = runner.invoke(_app(db_url), ["learn", "labels"])
    assert labels.exit_code == 0, labels.output
    assert "labels added: 0; labels in the table: n=400" in labels.output
    assert f"{CRITIC}@1" in labels.output and "organic" in labels.output

    first = runner.invoke(_app(db_url), ["learn", "recalibrate", "--holdout", "0.25"])
    assert first.exit_code == 0, first.output
    with Store.open(db_url) as store:
        active = store.active_update(CRITIC, UpdateKind.RECALIBRATION)
        assert active is not None and active.evidence["n_held_out"] == 100
    assert f"{CRITIC}: applied {active.params['method']} -> version {active.label}" in (
        first.output)
    assert "held-out log loss" in first.output and "n=100" in first.output

    second = runner.invoke(_app(db_url), ["learn", "recalibrate", "--critic", CRITIC])
    assert second.exit_code == 0, second.output
    assert f"{CRITIC}: rejected" in second.output
    with Store.open(db_url) as store:
        rows = store.critic_versions(critic=CRITIC)
        assert [r.applied for r in rows] == [True, False]
        still = store.active_update(CRITIC, UpdateKind.RECALIBRATION)
        assert still is not None and still.id == active.id

    listed = runner.invoke(_app(db_url), ["learn", "versions", "--critic", CRITIC])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{CRITIC}@1+recalibration.1  recalibration  applied  ")
    assert lines[1].startswith(f"{CRITIC}@1+recalibration.2  recalibration  rejected  ")
    assert "n_held_out=" in lines[1] and "held-out log loss" in lines[1]


def test_recalibrate_with_too_few_labels(db_url: str) -> None:
    with Store.open(db_url) as store:
        add_labels(store, *simulate(10, 1, power=1.0))
    runner = CliRunner()
    none = runner.invoke(_app(db_url), ["learn", "recalibrate"])
    assert none.exit_code == 0, none.output
    assert "no critic has 40 labels with a stated probability yet" in none.output
    one = runner.invoke(_app(db_url), ["learn", "recalibrate", "--critic", CRITIC])
    assert one.exit_code == 0 and f"{CRITIC}: rejected -> version" in one.output
    assert "too few labels: 10 with a stated probability, 40 needed" in one.output
    with Store.open(db_url) as store:
        (row,) = store.critic_versions()
        assert not row.applied
    empty = runner.invoke(_app(db_url), ["learn", "versions", "--critic", "c1.none"])
    assert "no critic versions yet for c1.none" in empty.output
