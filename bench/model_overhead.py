"""Overhead of the model layer per call, against the bare OpenAI SDK, in the same run.

The benchmarks' stub OpenAI-compatible server (`bench/_stub.py`, in a process of its own, so it
does not share this process's interpreter lock; HTTP/1.1 keep-alive) answers every chat
completion after a fixed latency. The same number of structured calls is made with the bare
`openai` SDK (request with a JSON-schema response format, reply parsed into the pydantic model)
and through `autoalign.models.ModelClient` (its direct path to the SDK for a plain structured
ask, the cache lookup, the budget reservation, the attempt row, the ledger row and the cache write
on a real SQLite database),
interleaved in blocks so that a machine's load drifts over both alike. Every prompt is distinct,
so no call is a cache hit; the cache-hit path is timed separately.

The budget check is timed at 300, 10k and 100k ledger rows (rows inserted directly): the
reservation against the run's running totals (`Store.reserve_budget`) against the old way,
re-totalling every row of the run (`Store.run_usage`), measured in the same run.

Run:  python bench/model_overhead.py [--quick]
`measure(quick)` returns the rows (name, value, unit, baseline, ratio, target, ok) for other
scripts to print.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from _stub import Stub  # bench/_stub.py: this script's folder is on sys.path
from openai import AsyncOpenAI
from pydantic import BaseModel, Field
from sqlalchemy import insert

from autoalign.models import Budget, ModelClient, ModelsConfig, ProviderConfig
from autoalign.store import Reservation, Store
from autoalign.store._schema import LLMAttempt, LLMCall

OVERHEAD_TARGET_MS = 2.0
CACHE_HIT_TARGET_MS = 0.3
FLAT_FACTOR = 3.0
"""A budget check is O(1) if at 10k and 100k rows it takes at most this many times its time at
300 rows (the old re-total grows about linearly)."""


class Answer(BaseModel):
    answer: Annotated[str, Field(max_length=100)]
    score: int = Field(ge=0, le=10)


async def _bare(client: AsyncOpenAI, prompts: list[str]) -> list[float]:
    schema = {"name": "Answer", "schema": Answer.model_json_schema(), "strict": True}
    times = []
    for prompt in prompts:
        start = time.perf_counter()
        reply = await client.chat.completions.create(
            model="stub",
            messages=[
                {"role": "system", "content": "Answer in JSON."},
                {"role": "user", "content": prompt},
            ],
            response_format={"type": "json_schema", "json_schema": schema},  # type: ignore[typeddict-item]
            temperature=0.7,
            max_tokens=64,
        )
        Answer.model_validate_json(reply.choices[0].message.content or "")
        times.append(time.perf_counter() - start)
    return times


async def _through(client: ModelClient, prompts: list[str], *, hit: bool) -> list[float]:
    times = []
    for prompt in prompts:
        start = time.perf_counter()
        reply = await client.ask("worker", Answer, instructions="Answer in JSON.", prompt=prompt)
        times.append(time.perf_counter() - start)
        assert reply.ok and reply.cache_hit is hit, reply.error
    return times


async def _calls(server: Stub, db: Path, n: int, tag: str) -> dict[str, list[float]]:
    """Bare SDK and autoalign calls interleaved in blocks; then the cache hits."""
    config = ModelsConfig(
        default="openai:stub",
        providers={"openai": ProviderConfig(base_url=server.base_url,
                                            api_key_env="AUTOALIGN_BENCH_KEY")},
    )
    store = Store.open(f"sqlite:///{db}")
    run = store.create_run(name="bench", agenda_digest="bench", config={})
    bare_client = AsyncOpenAI(base_url=server.base_url, api_key="stub", max_retries=0)
    # A budget far above what the bench spends: every call takes and settles a reservation.
    client = ModelClient(config=config, ledger=store, run_id=run.id,
                         budget=Budget(max_tokens=10**12, max_usd=None))
    out: dict[str, list[float]] = {"bare": [], "paid": [], "hit": []}
    try:
        await _bare(bare_client, [f"warm {tag} {i}" for i in range(5)])  # connections, imports
        await _through(client, [f"warm {tag} {i}" for i in range(5)], hit=False)
        block = 10
        prompts = [f"Question {tag} number {i}?" for i in range(n)]
        for start in range(0, n, block):
            chunk = prompts[start:start + block]
            out["bare"] += await _bare(bare_client, [p + " (bare)" for p in chunk])
            out["paid"] += await _through(client, chunk, hit=False)
        out["hit"] = await _through(client, prompts, hit=True)
    finally:
        await client.aclose()
        await bare_client.close()
        store.close()
    return out


def _insert_rows(store: Store, run_id: int, rows: int) -> None:
    """`rows` ledger rows (a tenth of them cache hits) and as many answered attempts."""
    now = datetime.now(UTC)
    calls = [
        {"run_id": run_id, "role": "worker", "model": "openai:stub", "input_tokens": 30,
         "output_tokens": 8, "latency_s": 0.01, "cost_usd": 0.0001, "cache_hit": i % 10 == 0,
         "attempts": 1, "created_at": now}
        for i in range(rows)
    ]
    attempts = [
        {"run_id": run_id, "role": "worker", "model": "openai:stub", "status": "answered",
         "est_tokens": 100, "est_cost_usd": 0.0002, "created_at": now}
        for _ in range(rows)
    ]
    with store.engine.begin() as conn:
        for start in range(0, rows, 10_000):
            conn.execute(insert(LLMCall), calls[start:start + 10_000])
            conn.execute(insert(LLMAttempt), attempts[start:start + 10_000])
    store.reconcile_budget(run_id)


def _budget_checks(db: Path, sizes: list[int], repeats: int) -> dict[int, tuple[float, float]]:
    """Per size: (median s of a reservation + its release, median s of `run_usage`)."""
    out: dict[int, tuple[float, float]] = {}
    with Store.open(f"sqlite:///{db}") as store:
        for rows in sizes:
            run_id = store.create_run(name=f"rows {rows}", agenda_digest="b", config={}).id
            _insert_rows(store, run_id, rows)
            hold = Reservation(tokens=600, usd=0.001)
            new, old = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                check = store.reserve_budget(run_id, hold, max_tokens=10**12, max_usd=10.0**6)
                new.append(time.perf_counter() - start)
                assert check.granted
                store.release_budget(run_id, hold)
                start = time.perf_counter()
                store.run_usage(run_id)
                old.append(time.perf_counter() - start)
            out[rows] = (statistics.median(new), statistics.median(old))
    return out


def _row(name: str, value: float, unit: str, baseline: float | None, target: str,
         ok: bool) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio,
            "target": target, "ok": ok}


def measure(quick: bool) -> list[dict[str, Any]]:
    """Measure the model layer's overheads against their baselines, in this run.

    Args:
        quick: fewer calls and repeats, and budget checks at 300 and 10k rows only.

    Returns:
        One dict per measurement: `name`, `value` and `unit` (ms), `baseline` (the same
        measured the old or bare way, ms), `ratio` (value / baseline), `target` (text) and
        `ok` (the target met), plus a last row saying whether the stub server dropped any
        request.
    """
    os.environ.setdefault("AUTOALIGN_BENCH_KEY", "stub")
    n = 40 if quick else 200
    sizes = [300, 10_000] if quick else [300, 10_000, 100_000]
    repeats = 30 if quick else 100
    rows: list[dict[str, Any]] = []
    sent = 0
    served: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency_ms in (0.0, 20.0):
            with Stub.start(latency_s=latency_ms / 1000) as server:
                times = asyncio.run(
                    _calls(server, Path(tmp) / f"calls{latency_ms:g}.db", n, f"{latency_ms:g}")
                )
                served.append(server.stats())
            sent += 2 * (n + 5)
            bare = statistics.median(times["bare"]) * 1000
            paid = statistics.median(times["paid"]) * 1000
            overhead = paid - bare
            rows.append(_row(
                f"overhead per call @{latency_ms:g}ms (median autoalign - median bare SDK)",
                overhead, "ms", bare, f"<= {OVERHEAD_TARGET_MS:g} ms",
                overhead <= OVERHEAD_TARGET_MS,
            ))
            if latency_ms == 0.0:
                hit = statistics.median(times["hit"]) * 1000
                rows.append(_row("cache hit per call (baseline: a bare SDK call)", hit, "ms",
                                 bare, f"<= {CACHE_HIT_TARGET_MS:g} ms",
                                 hit <= CACHE_HIT_TARGET_MS))
        checks = _budget_checks(Path(tmp) / "budget.db", sizes, repeats)
    flat = checks[sizes[0]][0]
    for size in sizes:
        new, old = checks[size]
        rows.append(_row(
            f"budget check @{size} rows (baseline: run_usage re-total)", new * 1000, "ms",
            old * 1000, f"O(1): <= {FLAT_FACTOR:g}x its time @{sizes[0]} rows",
            new <= FLAT_FACTOR * flat,
        ))
    answered = sum(int(stats["requests"]) for stats in served)
    failed = sum(int(stats["errors"]) + int(stats["bad_requests"]) for stats in served)
    connections = sum(int(stats["connections"]) for stats in served)
    rows.append({
        "name": f"stub server: {answered} of {sent} requests answered over {connections} "
                f"connections, {failed} failed",
        "value": float(sent - answered), "unit": "dropped", "baseline": None, "ratio": None,
        "target": "0 dropped", "ok": answered == sent and failed == 0,
    })
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """Print `measure`'s rows as a table."""
    for row in rows:
        baseline = f"{row['baseline']:9.3f}" if row["baseline"] is not None else " " * 9
        ratio = f"{row['ratio']:8.3f}" if row["ratio"] is not None else " " * 8
        verdict = "PASS" if row["ok"] else "FAIL"
        print(f"{row['name']:<72} {row['value']:9.3f} {row['unit']:<7} base {baseline} "
              f"ratio {ratio}  target {row['target']:<28} {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, up to 10k rows")
    args = parser.parse_args()
    print_table(measure(args.quick))


if __name__ == "__main__":
    main()
