"""Red-team injections evaluated per second, against the critics alone, in the same run.

Runs `run_experiment` with the programmatic critics (every flaw type, `--per-type` distinct
injections each, into a fresh SQLite database) and times it; the baseline is the same
injections made and the same critics' rules run on them in memory, with no store. Prints the
trials per second of each and their ratio (the cost of storing injections and trials). Then
times a re-run of the finished experiment (which must write nothing).

Run:  python bench/redteam_injections.py [--per-type 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from autoalign.critics import ProgrammaticCritic
from autoalign.redteam import (
    FLAW_TYPES,
    Corpus,
    builtin_subjects,
    corpus_evidence,
    inject,
    parse_config,
    redteam_critic,
    run_experiment,
    strict_match,
)
from autoalign.store import Store

CRITICS = ["c1.numbers-match", "c1.results-produced", "c1.code-integrity", "c1.claim-evidence",
           "c1.question-scope", "c2.numbers-match", "c2.claim-strength", "c2.abstract-scope",
           "c3.evidence"]


def baseline(per_type: int) -> int:
    """Make the injections and run the critics' rules on them in memory; the trials made."""
    critics = [redteam_critic(c) for c in CRITICS]
    pool = builtin_subjects()
    n = 0
    for ft in FLAW_TYPES:
        clean = [c for c in pool if c.where == ft.where]
        seen: set[str] = set()
        for attempt in range(per_type * 20):
            subject = clean[attempt % len(clean)]
            made = inject(ft.id, subject.subject, seed=attempt)
            if made is None or made.subject.model_dump_json() in seen:
                continue
            seen.add(made.subject.model_dump_json())
            for critic in critics:
                if critic.where != ft.where:
                    continue
                if critic.critic is None:
                    assert isinstance(made.subject, Corpus)
                    findings = corpus_evidence(made.subject)
                else:
                    assert isinstance(critic.critic, ProgrammaticCritic)
                    findings = critic.critic.rule(made.subject)
                strict_match(made.change, findings, clean=subject.subject)
                n += 1
            if len(seen) == per_type:
                break
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=20)
    args = parser.parse_args()
    config = parse_config({"name": "bench", "critics": CRITICS,
                           "injections_per_type": args.per_type, "controls": 1})
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'bench.db'}")
        started = time.perf_counter()
        summary = asyncio.run(run_experiment(store, config))
        run_s = time.perf_counter() - started
        started = time.perf_counter()
        again = asyncio.run(run_experiment(store, config))
        rerun_s = time.perf_counter() - started
        store.close()
    started = time.perf_counter()
    n = baseline(args.per_type)
    base_s = time.perf_counter() - started
    trials = summary.trials_written
    print(f"experiment: {trials} trials in {run_s:.2f} s = {trials / run_s:.1f} trials/s")
    print(f"baseline (rules in memory): {n} trials in {base_s:.2f} s = {n / base_s:.1f} trials/s")
    print(f"time per trial, experiment / baseline: {(run_s / trials) / (base_s / n):.2f}")
    print(f"re-run: {again.trials_written} new trials in {rerun_s:.2f} s")


if __name__ == "__main__":
    main()
