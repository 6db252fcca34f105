"""`autoalign redteam export`: write the files `autoalign redteam report` reads (organic flaws,
texts for the realism check, an experiment's trials) from the research database. Thin: it
calls `autoalign.redteam.export` and prints what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import safe
from ..errors import UsageError
from ._common import DbOption, console, open_store, use_db
from ._redteam import redteam_group


def export_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for organic.jsonl, texts.jsonl and "
                           "trials.jsonl.", show_default=False)
    ],
    experiment: Annotated[
        str | None,
        typer.Option(metavar="NAME|ID", help="The red-team experiment whose trials and injected "
                     "texts to write; without it, the database's only experiment, if it has "
                     "exactly one."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write from the database the inputs of `autoalign redteam report`: `organic.jsonl` (each
    organic flaw, i.e. one critics recorded on a run the red team did not make, with the critics
    that found it: records on one artifact, of one category, at overlapping locations are one
    flaw), `texts.jsonl` (the experiment's injected texts and the organic flaws' flawed texts,
    labelled) and `trials.jsonl` (the experiment's trials)."""
    from ..redteam import export

    use_db(db)
    with open_store() as store:
        experiment_id: int | None = None
        if experiment is not None:
            experiment_id = store.redteam_experiment(
                int(experiment) if experiment.isdigit() else experiment
            ).id
        else:
            known = store.redteam_experiments()
            if len(known) == 1:
                experiment_id = known[0].id
            elif known:
                raise UsageError(
                    "the database has several red-team experiments; pass --experiment NAME, "
                    f"one of: {', '.join(safe(e.name) for e in known)}"
                )
        try:
            done = export(store, out, experiment_id=experiment_id)
        except OSError as exc:
            raise UsageError(
                f"cannot write into {out}: {exc.strerror or exc}; pass a writable --out folder"
            ) from exc
    console.print(
        f"organic flaws: {done.n_organic} (from {done.n_records} flaw records; "
        f"{done.skipped_no_critic} left out, no critic recorded) found by "
        f"{len(done.critics)} critic(s) -> {safe(done.organic)}"
    )
    console.print(
        f"texts: {done.n_injected_texts} injected, {done.n_organic_texts} organic -> "
        f"{safe(done.texts)}"
    )
    if done.trials is not None:
        console.print(f"trials: {done.n_trials} -> {safe(done.trials)}")
    else:
        console.print("trials: none (the database has no red-team experiment)")


def register(app: typer.Typer) -> None:
    """Add `redteam export` to `app`."""
    redteam_group(app).command("export")(export_command)
