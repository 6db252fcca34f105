"""`autoalign learn library`: the flaw library's size by source and type, its versions, and
(with `--query`) the past flaws most similar to a text. Thin: it calls `autoalign.critics` and
prints (untrusted text escaped)."""

from __future__ import annotations

from typing import Annotated

import typer

from .._text import safe, safe_line
from ._common import DbOption, console, open_store, use_db
from ._learn import learn_group

QueryOption = Annotated[
    str | None,
    typer.Option("--query", metavar="TEXT",
                 help="Show the library's entries most similar to TEXT, with their scores."),
]
KOption = Annotated[
    int, typer.Option("--k", min=1, max=100, metavar="N", help="Most hits shown for --query.")
]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{safe(name or 'unknown')} {n}" for name, n in counts.items()) or "none"


def library(query: QueryOption = None, k: KOption = 5, db: DbOption = None) -> None:
    """Print the flaw library critic #2 and the idea-screen judges retrieve past flaws from:
    its entries by source and by flaw type, the snapshot's last label and flaw ids, and each
    reader's library version; with --query, the k entries most similar to the text (TF-IDF
    cosine, ties by entry id), each with its score, type, severity, description and origin."""
    from ..critics import FlawLibrary
    from ..vocabulary import UpdateKind

    use_db(db)
    with open_store() as store:
        lib = FlawLibrary.from_store(store)
        versions = [v for v in store.critic_versions()
                    if v.update == UpdateKind.FLAW_LIBRARY and v.applied]
    snap = lib.snapshot
    console.print(
        f"[bold]flaw library[/]: {snap.entries} entries (last label {snap.last_label_id}, last "
        f"flaw {snap.last_flaw_id}; digest {snap.digest[:12]}; {snap.embedder})"
    )
    console.print(f"  by source: {_counts(lib.by_source())}")
    console.print(f"  by type: {_counts(lib.by_type())}")
    latest = {v.critic: v for v in versions}
    for reader, v in sorted(latest.items()):
        mark = "current" if v.params.get("digest") == snap.digest else "older than the store"
        console.print(f"  {safe(reader)}: {safe(v.label)} ({v.params.get('entries', '?')} "
                      f"entries; {mark})")
    if query is None:
        return
    hits = lib.retrieve(query, k)
    if not hits:
        console.print(f"no entry shares a word with the query ({snap.entries} searched)")
        return
    console.print(f"[bold]{len(hits)} most similar[/] of {snap.entries} (cosine similarity):")
    for rank, hit in enumerate(hits, 1):
        e = hit.entry
        kind = safe(f"[{e.flaw_type or 'flaw'}, {e.severity}]")
        console.print(f"  {rank}. {hit.score:.3f} {safe(e.id)} {kind} "
                      f"{safe_line(e.description)} (from {safe(e.origin)})")


def register(app: typer.Typer) -> None:
    """Add `learn library` to the `learn` group of `app`."""
    learn_group(app).command("library")(library)


__all__ = ["register"]
