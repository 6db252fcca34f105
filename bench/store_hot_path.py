"""The store's hot path on a SQLite file: the driver path (`store/_driver.py`) against the same
statements through SQLAlchemy's connections, in the same run.

Three units of work, each what the model layer and a step write per call:
- a paid call's ledger: the cache lookup (a miss), the reservation, the attempt row, and the
  booking with its answer, the attempt's outcome and the reservation given back;
- a cache hit's ledger: the lookup (a hit) and its ledger row;
- a step's artifact: the look-up of its step key, then the artifact, its event and two
  provenance edges.

Two stores on two files of the same schema, one as the `Store` opens it (the driver path) and
one with the driver path turned off; they alternate in blocks, so that a machine's load drifts
over both alike. The median per unit is reported, and the ratio of the driver path to
SQLAlchemy's.

Run:  python bench/store_hot_path.py [--units 2000] [--quick]
`measure(quick)` returns the rows for `bench/pipeline.py`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

from autoalign.store import AttemptStatus, CacheRecord, Reservation, Store

Unit = Callable[[int], None]


def _units(store: Store) -> dict[str, Unit]:
    run = store.create_run(name="bench", agenda_digest="d" * 64, config={})
    store.reconcile_budget(run.id)
    roots = [store.add_artifact(run_id=run.id, kind="idea", stage="ideate").id for _ in range(2)]
    output = {"ideas": [{"title": "an idea", "score": 0.5}] * 3}
    hit_key = "h" * 64
    store.cache_put(key=hit_key, model="m", request={"messages": []}, raw="{}", output=output)

    def paid(i: int) -> None:
        key = f"{i:064d}"
        assert store.cache_get(key) is None
        held = Reservation(tokens=300, usd=0.01)
        assert store.reserve_budget(run.id, held, max_tokens=None, max_usd=1e9).granted
        attempt = store.begin_attempt(
            run_id=run.id, role="ideator", model="m", step_key=f"s/{i}", cache_key=key,
            est_tokens=300, est_cost_usd=0.01, reserved=True,
        )
        store.record_call(
            run_id=run.id, role="ideator", model="m", step_key=f"s/{i}", cache_key=key,
            input_tokens=200, output_tokens=100, latency_s=0.2, cost_usd=0.01,
            answer=CacheRecord(key=key, model="m", request={"messages": [i]}, raw="{}",
                               output=output, error=None, input_tokens=200, output_tokens=100),
            attempt_ids=[attempt], last_attempt=AttemptStatus.ANSWERED, reservation=held,
        )

    def hit(_i: int) -> None:
        assert store.cache_get(hit_key) is not None
        store.record_call(run_id=run.id, role="ideator", model="m", cache_key=hit_key,
                          cache_hit=True)

    def step(i: int) -> None:
        store.add_artifact(
            run_id=run.id, kind="idea", stage="ideate", step_key=f"step/{i}",
            content_text="an idea " * 40, content_json=output, parents=roots,
        )

    return {"paid call's ledger": paid, "cache hit's ledger": hit, "step's artifact": step}


def run(units: int, blocks: int = 8) -> dict[str, dict[str, float]]:
    """Median seconds per unit of work, per unit and path."""
    with tempfile.TemporaryDirectory() as folder:
        stores = {
            "driver": Store.open(f"sqlite:///{Path(folder) / 'driver.db'}"),
            "sqlalchemy": Store.open(f"sqlite:///{Path(folder) / 'sqlalchemy.db'}"),
        }
        stores["sqlalchemy"]._driver_path = False  # the same Store, through the engine
        try:
            work = {path: _units(store) for path, store in stores.items()}
            times: dict[str, dict[str, list[float]]] = {
                unit: {path: [] for path in stores} for unit in work["driver"]
            }
            numbers = count()
            for _ in range(blocks):
                for unit in times:
                    for path in stores:
                        do = work[path][unit]
                        for _ in range(units // blocks):
                            i = next(numbers)
                            started = time.perf_counter()
                            do(i)
                            times[unit][path].append(time.perf_counter() - started)
        finally:
            for store in stores.values():
                store.close()
    return {unit: {path: statistics.median(values) for path, values in by_path.items()}
            for unit, by_path in times.items()}


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for `bench/pipeline.py`: each unit on the driver path against SQLAlchemy's."""
    rows = []
    for unit, medians in run(800 if quick else 2000).items():
        ours, base = medians["driver"], medians["sqlalchemy"]
        rows.append({
            "name": f"SQLite {unit} (baseline: through SQLAlchemy's connections)",
            "value": ours * 1000, "unit": "ms", "baseline": base * 1000, "ratio": ours / base,
            "target": "< 1", "ok": ours < base,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000, help="of each kind, per path")
    parser.add_argument("--quick", action="store_true", help="800 units")
    args = parser.parse_args()
    for unit, medians in run(800 if args.quick else args.units).items():
        ours, base = medians["driver"], medians["sqlalchemy"]
        print(f"{unit:<20} driver {ours * 1000:6.3f} ms  sqlalchemy {base * 1000:6.3f} ms  "
              f"ratio {ours / base:.3f}")


if __name__ == "__main__":
    main()
