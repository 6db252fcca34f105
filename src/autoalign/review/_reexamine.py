"""What a confirmed flaw sets off after the taint: the run's `[rollback] policy`.

The flawed artifact's run recorded its agenda (`RunRecord.config`); its `[rollback] policy`
says what to ask for about the papers the rollback reached (the flawed artifact itself, when it
is a paper, and every paper downstream of it):

- `re-review` (the default): a `rereview_request` naming those papers and the affected claims;
  `autoalign rereview` acts on it with the current critics.
- `regenerate`: the same, and a `regeneration_request` naming the papers' research logs, whose
  write-up is run again with `autoalign run AGENDA --stage writeup`.
- `none`: nothing beyond the taint.

The requests are artifacts of the flawed artifact's run (stage `rereview`), keyed by the flawed
artifact, so confirming the same flaw twice asks once. They carry no provenance edge to the
flawed artifact (their content names it): a later rollback must not taint the request to fix
it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import RollbackRecord, Store
from ..vocabulary import Kind, RollbackPolicy, Stage, Status


@dataclass(frozen=True, kw_only=True)
class Reexamination:
    """What a rollback's policy asked for."""

    policy: RollbackPolicy
    papers: tuple[int, ...]
    """Affected papers (the flawed artifact, if a paper, and the papers downstream)."""
    claims: tuple[int, ...]
    """Claims recorded on any affected artifact."""
    requests: tuple[int, ...]
    """The request artifacts written (or found, when asked before)."""


def rollback_policy(store: Store, artifact_id: int) -> RollbackPolicy:
    """The `[rollback] policy` of the run that made `artifact_id` (`re-review` when the run
    recorded none, e.g. an examined paper's)."""
    run_id = store.artifact(artifact_id).run_id
    config = store.get_run(run_id).config if run_id is not None else {}
    section = config.get("rollback") if isinstance(config, dict) else None
    value = section.get("policy") if isinstance(section, dict) else None
    try:
        return RollbackPolicy(value) if value is not None else RollbackPolicy.REREVIEW
    except ValueError:
        return RollbackPolicy.REREVIEW


def reexamine(store: Store, rollback: RollbackRecord) -> Reexamination:
    """Apply the flawed artifact's run's rollback policy to what `rollback` reached."""
    root = rollback.artifact_id
    policy = rollback_policy(store, root)
    reached = store.artifacts(ids=[root, *rollback.downstream])
    papers = tuple(a.id for a in reached if a.kind == Kind.PAPER)
    ids = {a.id for a in reached}
    claims = tuple(c.id for c in store.claims() if c.artifact_id in ids)
    if policy == RollbackPolicy.NONE or not papers:
        return Reexamination(policy=policy, papers=papers, claims=claims, requests=())
    run_id = store.artifact(root).run_id
    reason = (
        f"artifact {root} was confirmed flawed; {len(papers)} paper(s) and {len(claims)} "
        f"claim(s) are affected (claims {list(claims)})"
    )
    requests = [
        store.add_artifact(
            run_id=run_id, kind=Kind.REREVIEW_REQUEST, stage=Stage.REREVIEW,
            step_key=f"rollback/{root}/rereview", title=f"re-review after rollback of {root}",
            content_text=f"Re-review papers {list(papers)}: {reason}",
            content_json={"paper_ids": list(papers), "reason": reason},
        ).id
    ]
    if policy == RollbackPolicy.REGENERATE:
        logs = sorted({
            int(a.content_json["research_log"]) for a in reached
            if a.kind == Kind.PAPER and isinstance(a.content_json, dict)
            and "research_log" in a.content_json
        })
        usable = [
            log.id for log in store.artifacts(ids=logs)
            if log.status not in (Status.TAINTED, Status.FLAWED)
        ]
        requests.append(store.add_artifact(
            run_id=run_id, kind=Kind.REGENERATION_REQUEST, stage=Stage.REREVIEW,
            step_key=f"rollback/{root}/regenerate", title=f"regenerate after rollback of {root}",
            content_text=(
                f"Write up research logs {usable} again (`autoalign run AGENDA --stage "
                f"writeup`); logs {sorted(set(logs) - set(usable))} are tainted themselves and "
                f"need their research re-run: {reason}"
            ),
            content_json={"research_log_ids": usable, "paper_ids": list(papers),
                          "reason": reason},
        ).id)
    return Reexamination(policy=policy, papers=papers, claims=claims, requests=tuple(requests))


__all__ = ["Reexamination", "reexamine", "rollback_policy"]
