"""Testbed run time at the largest knob settings, against the defaults, in the same run.

For every testbed and each of its heavy interventions (`more_*`, plus the baseline), times a run
at default knobs and a run with every integer knob at the top of its range, `--repeats` times
each (median), and prints both and their ratio. The unit tests check that the largest settings
run at all; how long they take is measured here, where a loaded machine cannot fail a test.

Run:  python bench/testbed_sizes.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from autoalign.testbeds import Testbed, get_testbed, list_testbeds


def _median_seconds(
    tb: Testbed, config: dict[str, object], intervention: str | None, repeats: int
) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        tb.run(config, intervention=intervention, seed=1)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'testbed':<20} {'intervention':<22} {'default s':>10} {'largest s':>10} {'ratio':>7}")
    for info in list_testbeds():
        tb = get_testbed(info.name)
        biggest = {k.name: int(k.high or 0) for k in tb.knobs if k.kind == "int"}
        heavy: list[str | None] = [None, *(i.name for i in tb.interventions
                                           if i.name.startswith("more_"))]
        for intervention in heavy:
            tb.run({}, intervention=intervention, seed=0)  # warm up imports and caches
            base = _median_seconds(tb, {}, intervention, args.repeats)
            large = _median_seconds(tb, dict(biggest), intervention, args.repeats)
            print(f"{info.name:<20} {intervention or '(baseline)':<22} {base:>10.3f} "
                  f"{large:>10.3f} {large / base:>7.1f}")


if __name__ == "__main__":
    main()
