"""The red-team report's time on synthetic trial records, against a baseline measured in the
same run.

Writes N synthetic trials (every critic on every subject, one subject in five a clean control,
misses correlated through a shared difficulty, a stated probability on each) as JSON lines,
then times:

- the baseline: loading the file into `Trial`s and counting detections per critic;
- the metrics: `build_report` (every estimator, bootstrap intervals) and writing the JSON;
  then, separately, the calibration scores alone (they dominate the metrics' time);
- the figures and the Markdown and HTML pages, separately (matplotlib dominates them).

and prints each time with its ratio to the baseline, and n. The first `build_report` in a
process also pays for importing statsmodels and scikit-learn; a warm-up on a small input is run
first so that the timed call measures the statistics.

Run:  python bench/redteam_report.py [--trials 10000] [--critics 4] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from autoalign.redteam import (
    Trial,
    build_report,
    calibration_by_critic,
    dump_trials,
    load_trials,
    write_figures,
    write_json,
    write_report,
)

TYPES = ("cherry-pick", "n-equals-1", "overgeneralise", "invented-number", "special-case")


def synthetic(n_trials: int, critics: int, seed: int) -> list[Trial]:
    """`n_trials` trials: `n_trials // critics` subjects, each seen by every critic."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n_trials // critics):
        flaw = None if s % 5 == 0 else TYPES[s % len(TYPES)]
        latent = rng.random()
        for j in range(critics):
            hit = bool(latent < 0.4 + 0.1 * j) if flaw else bool(rng.random() < 0.1)
            out.append(
                Trial(
                    subject=f"s{s}", critic=f"c{j}@1", flaw_type=flaw, detected=hit,
                    flagged=hit, probability=float(rng.random()), severe=flaw is not None,
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--critics", type=int, default=4)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = dump_trials(synthetic(args.trials, args.critics, args.seed), folder / "t.jsonl")
        build_report(synthetic(200, args.critics, args.seed + 1), n_boot=20)  # warm-up

        started = time.perf_counter()
        trials = load_trials(path)
        counts = Counter(t.critic for t in trials if t.detected)
        baseline = time.perf_counter() - started
        assert sum(counts.values()) > 0

        started = time.perf_counter()
        analysis = build_report(trials, n_boot=args.n_boot, seed=args.seed)
        write_json(analysis.report, folder / "r.json")
        metrics_s = time.perf_counter() - started

        # The share of the metrics spent in the calibration scores (autoalign.calibration's
        # bootstrap, one Python-level ECE per replicate).
        started = time.perf_counter()
        calibration_by_critic(trials, n_boot=args.n_boot, seed=args.seed)
        calibration_s = time.perf_counter() - started

        started = time.perf_counter()
        figures = write_figures(analysis, folder / "figures")
        figures_s = time.perf_counter() - started

        started = time.perf_counter()
        write_report(analysis, folder / "pages", draw=lambda _a, _f: figures)
        pages_s = time.perf_counter() - started

    n = len(trials)
    print(f"n = {n} trials, {args.critics} critics, {analysis.report.n_subjects} subjects, "
          f"{len(analysis.report.metrics)} metrics, {args.n_boot} bootstrap replicates")
    print(f"{'step':<30} {'seconds':>8} {'x baseline':>11}")
    for name, s in (
        ("baseline: load + count", baseline),
        ("metrics + JSON", metrics_s),
        ("  of which calibration scores", calibration_s),
        (f"figures ({len(figures)})", figures_s),
        ("Markdown + HTML pages", pages_s),
    ):
        print(f"{name:<30} {s:>8.3f} {s / baseline:>11.1f}")


if __name__ == "__main__":
    main()
