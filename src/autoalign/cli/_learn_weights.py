"""`autoalign learn weights | export | register-model`: refit stage 1's judge weights, export
labels for fine-tuning elsewhere, and register the fine-tuned model as a critic version. Thin:
`autoalign.learning` decides and writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._text import safe_line
from ._common import DbOption, console, open_store, use_db
from ._learn import learn_group


def _interval(figures: dict[str, float], name: str) -> str:
    return (f"{figures[name]:.3f} [{figures[name + '_low']:.3f}, "
            f"{figures[name + '_high']:.3f}]")


def weights_command(db: DbOption = None) -> None:
    """Refit stage 1's judge weights from the pairs humans and model judges both compared, and
    apply them only when they predict the most recent held-out human choices better (lower log
    loss). Prints each judge's agreement with the humans (n, Wilson interval) and weight, the
    held-out log loss and accuracy of the refit and the current weights with intervals, and the
    decision: the new version of `judges.stage1`, applied or rejected with its reason."""
    from ..learning import refit_judge_weights

    use_db(db)
    with open_store(writable=True) as store:
        refit = refit_judge_weights(store)
    console.print(f"{refit.n_pairs} pair(s) compared by humans and model judges: "
                  f"{refit.n_fit} fitted, {refit.n_heldout} held out (the most recent)")
    for r in (*refit.judges, refit.human):
        ci = f"[{r.low:.2f}, {r.high:.2f}]" if r.n else "[no data]"
        console.print(f"  {safe_line(r.judge)}: agrees {r.agree}/{r.n} {ci} -> weight "
                      f"{r.weight:.2f}")
    for name in ("refit", "current"):
        if name in refit.heldout:
            f = refit.heldout[name]
            console.print(f"  held out, {name} weights: log loss {_interval(f, 'log_loss')}, "
                          f"accuracy {_interval(f, 'accuracy')} (n={f['n']})")
    state = "applied" if refit.applied else "rejected"
    console.print(f"{refit.version.label} {state}: {safe_line(refit.reason)}")


def export_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into.")],
    critic: Annotated[
        str | None, typer.Option(help="Only labels of this critic id (any version).")
    ] = None,
    validation: Annotated[
        float, typer.Option(help="Fraction of examples in the validation split.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split.")] = 0,
    db: DbOption = None,
) -> None:
    """Export labelled critic verdicts for fine-tuning elsewhere: chat-format JSONL
    (openai/train.jsonl, openai/validation.jsonl) and a Hugging Face `datasets` folder (hf/,
    with a dataset card). Prints the examples written by label kind and split, the labels
    skipped and why (a subject that cannot be rebuilt), and the export's digest."""
    from ..learning import export_finetune

    use_db(db)
    with open_store() as store:
        done = export_finetune(store, out, critic_id=critic, validation=validation, seed=seed)
    console.print(f"{done.total} example(s) written (digest {done.digest[:16]})")
    for kind, by in sorted(done.counts.items()):
        console.print(f"  {kind}: train {by['train']}, validation {by['validation']}")
    for reason, n in sorted(done.skipped.items()):
        console.print(f"  skipped, {reason}: {n}")


def register_model_command(
    critic: Annotated[str, typer.Argument(help="The LLM critic's id, e.g. c2.investigate.")],
    model: Annotated[str, typer.Argument(help="The fine-tuned model, as provider:model.")],
    export: Annotated[
        Path | None, typer.Option("--export", help="The export folder it was trained on.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Register a model fine-tuned elsewhere as a new version of an LLM critic: runs started
    from now on ask it for that critic's calls, and the critic's flaws name the version. Prints
    the version (`<critic>@<version>`), the model and the export's digest."""
    from ..learning import register_fine_tuned

    use_db(db)
    with open_store(writable=True) as store:
        version = register_fine_tuned(store, critic, model, export_dir=export)
    digest = version.params.get("export_digest")
    console.print(f"{version.label}: {safe_line(str(version.params['model']))} plays "
                  f"{critic}" + (f" (export digest {str(digest)[:16]})" if digest else ""))


def register(app: typer.Typer) -> None:
    """Add `weights`, `export` and `register-model` to `autoalign learn`."""
    group = learn_group(app)
    group.command("weights")(weights_command)
    group.command("export")(export_command)
    group.command("register-model")(register_model_command)


__all__ = ["register"]
