"""`autoalign learn erase POLICY`: progressive log erasure. Thin: it calls
`autoalign.learning.plan_erasure` / `apply_erasure` and prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .._text import safe, safe_line
from ._common import DbOption, console, open_store, use_db
from ._learn import learn_group

if TYPE_CHECKING:
    from ..learning import ErasurePlan, ErasureResult


def _size(n: int) -> str:
    return f"{n:,} B"


def print_plan(plan: ErasurePlan, result: ErasureResult | None = None) -> None:
    """Print a plan (what would be erased in order, what is protected and why, bytes before and
    after), with the records' ids when it was carried out."""
    ids = {r.artifact_id: r.id for r in result.erased} if result is not None else {}
    verb = "erased" if result is not None else "would erase"
    console.print(
        f"[bold]policy {safe_line(plan.policy)}[/] ({plan.policy_digest[:12]}) on "
        f"{', '.join(plan.kinds)}: {verb} {len(ids) if result is not None else len(plan.erase)} "
        f"artifact(s); {len(plan.protected)} refusal(s); {plan.already_erased} erased before"
    )
    for n, e in enumerate(plan.erase, 1):
        record = ids.get(e.artifact_id)
        if result is not None and record is None:
            tail = "  [yellow]skipped (erased meanwhile, or its run was resumed)[/]"
        else:
            tail = f"  record {record}" if record is not None else ""
        t = e.terms
        console.print(
            f"  {n}. {e.kind} {e.artifact_id} (run {e.run_id}): score {e.score:.3f} "
            f"[dim](age {t.age_days:.1f} d, {t.signals.descendants} descendant(s), "
            f"{t.signals.accepted_downstream} accepted paper(s) below, "
            f"{t.signals.flaws} flaw(s), {t.signals.reviews} review(s))[/]; "
            f"{_size(e.original_bytes)}, frees {_size(e.bytes_freed)}{tail}"
        )
    refused = ({(r.artifact_id, r.reason): r.id for r in result.refused}
               if result is not None else {})
    for p in plan.protected:
        record = refused.get((p.artifact_id, p.reason))
        console.print(
            f"  protected {p.kind} {p.artifact_id}: {p.reason.value}: {safe_line(p.detail)}"
            + (f"  record {record}" if record is not None else "")
        )
    if plan.too_small:
        console.print(f"  left as they are (a record would be no smaller): "
                      f"{', '.join(map(str, plan.too_small))}")
    target = "none (a count only)" if plan.target_bytes is None else _size(plan.target_bytes)
    console.print(
        f"bytes of {', '.join(plan.kinds)}: {_size(plan.bytes_before)} before, "
        f"{_size(plan.bytes_after)} after (originally {_size(plan.original_bytes)}; "
        f"target {target}" + ("" if plan.budget_met else ", [yellow]not reached: the rest is "
                              "protected or too small[/]") + ")"
    )
    if result is None:
        console.print("dry run: nothing was written")


def erase(
    policy_file: Annotated[Path, typer.Argument(
        metavar="POLICY", help="The erasure policy (TOML; `examples/erasure.toml`).",
        show_default=False)],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan and write nothing.")] = False,
    db: DbOption = None,
) -> None:
    """Erase detailed logs by a policy: oldest, least important and least controversial first,
    never one under an open review, with a confirmed flaw, feeding a registered safety case's
    metric, or of an unfinished run. Prints each erasure in order (score, bytes, record id),
    each protected artifact and why, and the bytes before and after. Irreversible: an erased
    artifact keeps its row, provenance and a summary; its content is gone."""
    from ..learning import apply_erasure, load_policy, plan_erasure

    use_db(db)
    policy = load_policy(policy_file)
    with open_store(create=False, writable=not dry_run) as store:
        if dry_run:
            print_plan(plan_erasure(store, policy))
            return
        result = apply_erasure(store, policy)
    print_plan(result.plan, result)
    if result.skipped:
        console.print(f"skipped: {safe(', '.join(map(str, result.skipped)))}")


def register(app: typer.Typer) -> None:
    """Add `learn erase` to `app`."""
    learn_group(app).command("erase")(erase)


__all__ = ["print_plan", "register"]
