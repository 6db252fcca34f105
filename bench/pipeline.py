"""Wall time of whole `autoalign` runs against the critical path of their own recorded work.

A run cannot finish sooner than its longest chain of dependent model calls and sandbox runs;
whatever autoalign adds beyond that is waste. For agendas of about 20, 200 and 2,000 calls this
runs the agenda through `autoalign.pipeline.run_agenda` against a stub OpenAI-compatible server
(`_stub.py`, a process of its own, fixed latency) on a fresh SQLite database, each run in a
fresh interpreter, and reports:

- calls, and the critical path (`Store.critical_path`, from the run's recorded dependency
  graph: provenance edges plus the calls each step awaited) in calls and seconds: the bound;
- the wall time of `run_agenda` and wall / bound, against the target (1.10); for information
  also wall / the same chain with every call at the stub's latency (the recorded latency of a
  call includes the time autoalign spends inside it: building the request, parsing the reply);
- a bare-SDK replay of the same recorded graph, in the same run: every call node is one
  `openai` SDK request with a JSON-schema response format, issued once the nodes it depends on
  are done (a sandbox run sleeps its recorded duration), with no concurrency limit; its
  wall / bound is the baseline;
- the CPU time of the run's process per call, against the replay's per request (no target:
  a run whose one event loop is busy for most of its wall waits on its own work, and no
  change of scheduling helps it; only less work per call does);
- the stub's dropped connections (must be 0), most requests in flight and CPU seconds.
- where the critical path waited: the time between each call on it and the node before it,
  longest first (start-up, stage transitions, store reads, an event loop busy with other calls).

The agendas set the provider's concurrency above their widest level, so the bound (which
assumes every call that can go out does) is reachable; the default concurrency is a separate
choice (README, "Configuration").

Other benchmarks join the final table as sections: a module under `bench/` named in `SECTIONS`
exposing `measure(quick: bool) -> list[dict]` (keys: name, value, unit, baseline, ratio,
target, ok). The script exits 1 if any row misses its target.

Run:  python bench/pipeline.py [--sizes 20,200,2000] [--latency 0.2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stub import Stub

TARGET = 1.10
"""wall / critical-path bound a run must stay within."""

SECTIONS: list[str] = [
    "model_overhead", "store_hot_path", "http_pool", "startup", "store_scale",
]
"""Other benchmark modules under `bench/` whose `measure(quick)` rows join the table."""

SIZES = {
    # calls (about): (topics, ideas_per_topic, idea_framings, proposals, rounds, steps, judges,
    #                 agendas run at once)
    20: (1, 2, 2, 1, 1, 1, 1, 1),
    200: (20, 3, 3, 5, 3, 2, 3, 1),
    2000: (20, 3, 3, 5, 10, 2, 7, 10),
}
"""Agenda knobs per size; the exact count of calls is what the runs record. One agenda makes
at most a few hundred calls (20 topics, 10 rounds), so the largest size runs ten agendas at
once in one process, as a lab running several would; its bound is the longest of their
critical paths. Two steps per round, each of at most two sandbox runs, keep the sandbox's
CPU-bound runs few; with one, the stub's answers can make every step an analysis of nothing,
and the run stops before the write-up."""


def agenda_toml(size: int, base_url: str, copy: int = 0) -> str:
    """Agenda number `copy` of the benchmark of about `size` calls, every role on the stub."""
    topics, ideas, framings, proposals, rounds, steps, judges, _ = SIZES[size]
    topic_rows = "\n".join(
        f'[[topics]]\nname = "Topic {i}"\ndescription = "Benchmark topic number {i}."\n'
        'testbeds = ["reward_hacking"]\n'
        for i in range(topics)
    )
    return f"""
[run]
name = "bench-{size}-{copy}"
on_failure = "continue"

[models]
default = "openai:stub"
output_retries = 1

[models.providers.openai]
base_url = "{base_url}"
concurrency = 1024

[models.sampling]
max_tokens = 200

[pipeline]
ideas_per_topic = {ideas}
idea_framings = {framings}
proposals = {proposals}

[execution]
candidates = 3
steps_per_round = {steps}
max_iterations = {rounds}
max_runs_per_step = 2
max_seeds = 2
spec_retries = 0
tool_requests = 2
check_rate = 0.0
check_rate_after_failure = 0.0
judges = {judges}

{topic_rows}
"""


# -- one size, in a fresh interpreter ------------------------------------------------------


def run_one(size: int, base_url: str, workdir: Path) -> dict[str, Any]:
    """Run the agendas of `size` (in this process, at once) and measure them; the replay's
    graph too."""
    import os

    os.environ.setdefault("OPENAI_API_KEY", "dummy")
    from autoalign.agenda import load_agenda
    from autoalign.pipeline import run_agenda
    from autoalign.store import Store

    agendas = []
    for copy in range(SIZES[size][-1]):
        path = workdir / f"bench-{size}-{copy}.toml"
        path.write_text(agenda_toml(size, base_url, copy))
        agendas.append(load_agenda(path))

    async def run_all(store: Store) -> list[Any]:
        return list(await asyncio.gather(*(run_agenda(a, store=store) for a in agendas)))

    with Store.open(f"sqlite:///{workdir}/bench-{size}.db") as store:  # migrated before timing
        began = datetime.now(UTC)
        started, cpu = time.perf_counter(), time.process_time()
        summaries = asyncio.run(run_all(store))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        paths = [store.critical_path(s.run.id) for s in summaries]
        slowest = max(range(len(paths)), key=lambda i: paths[i].duration_s)
        waits = chain_waits(store, summaries[slowest].run.id, paths[slowest], began)
        graph = [
            {"id": f"{s.run.id}:{n.id}", "kind": n.kind, "duration_s": n.duration_s,
             "deps": [f"{s.run.id}:{d}" for d in n.deps]}
            for s in summaries
            for n in store.dependency_graph(s.run.id)
        ]
    longest = max(paths, key=lambda p: p.duration_s)
    return {
        "size": size, "runs": len(summaries),
        "status": ",".join(sorted({str(s.run.status) for s in summaries})),
        "stop_reason": "; ".join(s.run.stop_reason for s in summaries if s.run.stop_reason),
        "calls": sum(p.total_calls for p in paths),
        "unattached": sum(p.unattached_calls for p in paths),
        "chain_calls": longest.calls, "chain_sandbox_runs": longest.sandbox_runs,
        "bound_s": longest.duration_s, "wall_s": wall, "cpu_s": cpu, "graph": graph,
        "waits": waits,
    }


def chain_waits(
    store: Any, run_id: int, path: Any, began: datetime
) -> list[tuple[float, str]]:
    """Where the run's critical path waited: for each model call on it, the time between the
    end of the node before it on the chain (or the run's start) and the call's start, from
    the ledger's times (a call's row is written when it ends; it started `latency_s` before).
    Sorted longest first. What the run did there (start-up, store reads, the event loop busy
    with other calls) is time the bound does not count."""
    from sqlalchemy import select

    from autoalign.store._schema import LLMCall

    with store.engine.connect() as conn:
        ended = {
            key: (at.replace(tzinfo=UTC) if at.tzinfo is None else at, latency)
            for key, at, latency in conn.execute(
                select(LLMCall.step_key, LLMCall.created_at, LLMCall.latency_s)
                .where(LLMCall.run_id == run_id)
            )
        }
    waits, previous = [], 0.0
    for node in path.chain:
        if node.kind != "call" or node.key not in ended:
            previous += node.duration_s
            continue
        at, latency = ended[node.key]
        finish = (at - began).total_seconds()
        waits.append((max(0.0, finish - latency - previous), node.key))
        previous = finish
    return sorted(waits, reverse=True)


async def replay(graph: list[dict[str, Any]], base_url: str) -> tuple[float, float]:
    """Replay a recorded graph with the bare SDK; returns the wall time and this process's
    CPU time (every thread) over it."""
    from openai import AsyncOpenAI
    from pydantic import BaseModel

    class Answer(BaseModel):
        answer: str

    schema = {"name": "Answer", "schema": Answer.model_json_schema(), "strict": True}
    response_format: Any = {"type": "json_schema", "json_schema": schema}
    client = AsyncOpenAI(base_url=base_url, api_key="dummy", max_retries=0, timeout=60)
    done: dict[str, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()

    async def node(spec: dict[str, Any], n: int) -> None:
        for dep in spec["deps"]:
            if dep in done:
                await done[dep]
        if spec["kind"] == "call":
            reply = await client.chat.completions.create(
                model="stub",
                messages=[{"role": "user", "content": f"replayed call {n}"}],
                response_format=response_format,
                max_tokens=200,
            )
            Answer.model_validate_json(reply.choices[0].message.content or "")
        elif spec["kind"] == "sandbox_run":
            await asyncio.sleep(spec["duration_s"])
        done[spec["id"]].set_result(None)

    started, cpu = time.perf_counter(), time.process_time()
    for spec in graph:
        done[spec["id"]] = loop.create_future()
    async with asyncio.TaskGroup() as tg:
        for n, spec in enumerate(graph):
            tg.create_task(node(spec, n))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await client.close()
    return wall, cpu


def ideal_bound(graph: list[dict[str, Any]], latency: float) -> float:
    """The graph's longest chain with every call at the stub's latency (sandbox runs at their
    recorded time): the bound without any per-call time autoalign spends inside a call."""
    finish: dict[str, float] = {}
    for node in graph:
        start = max((finish[d] for d in node["deps"] if d in finish), default=0.0)
        weight = latency if node["kind"] == "call" else node["duration_s"]
        finish[node["id"]] = start + weight
    return max(finish.values(), default=0.0)


def measure_size(size: int, latency: float) -> dict[str, Any]:
    """One size: the autoalign run in a fresh interpreter, then the bare-SDK replay."""
    with Stub.start(latency_s=latency) as stub, tempfile.TemporaryDirectory() as tmp:
        before = stub.stats()
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--base-url", stub.base_url,
             "--workdir", tmp],
            capture_output=True, text=True, check=False,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the size-{size} run failed:\n{child.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
        during = stub.stats()
        graph = result.pop("graph")
        result["ideal_bound_s"] = ideal_bound(graph, latency)
        result["replay_wall_s"], result["replay_cpu_s"] = asyncio.run(
            replay(graph, stub.base_url)
        )
        result["replay_calls"] = sum(node["kind"] == "call" for node in graph)
        after = stub.stats()
    result["dropped"] = after["errors"] - before["errors"]
    result["bad_requests"] = after["bad_requests"] - before["bad_requests"]
    result["stub_requests"] = during["requests"] - before["requests"]
    result["stub_max_in_flight"] = during["max_in_flight"]
    result["stub_cpu_s"] = during["cpu_s"] - before["cpu_s"]
    return result


def rows_for(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows of one size."""
    size, bound = result["size"], result["bound_s"]
    ratio = result["wall_s"] / bound if bound else float("inf")
    replay_ratio = result["replay_wall_s"] / bound if bound else float("inf")
    return [
        {
            "name": f"pipeline {size}: wall / critical path", "value": result["wall_s"],
            "unit": "s", "baseline": bound, "ratio": ratio, "target": TARGET,
            "ok": ratio <= TARGET and result["status"] == "completed",
        },
        {
            "name": f"pipeline {size}: bare-SDK replay / critical path",
            "value": result["replay_wall_s"], "unit": "s", "baseline": bound,
            "ratio": replay_ratio, "target": None, "ok": True,
        },
        {
            "name": f"pipeline {size}: wall / chain at the stub's latency",
            "value": result["wall_s"], "unit": "s", "baseline": result["ideal_bound_s"],
            "ratio": result["wall_s"] / result["ideal_bound_s"] if result["ideal_bound_s"]
            else float("inf"),
            "target": None, "ok": True,
        },
        {
            # Not a target: where the one event loop's time goes. A run whose loop is busy
            # most of its wall waits on its own CPU, not on the provider.
            "name": f"pipeline {size}: CPU per call, run / bare-SDK replay",
            "value": 1000 * result["cpu_s"] / max(result["calls"], 1), "unit": "ms",
            "baseline": 1000 * result["replay_cpu_s"] / max(result["replay_calls"], 1),
            "ratio": (result["cpu_s"] / max(result["calls"], 1))
            / max(result["replay_cpu_s"] / max(result["replay_calls"], 1), 1e-9),
            "target": None, "ok": True,
        },
        {
            "name": f"pipeline {size}: stub dropped connections", "value": result["dropped"],
            "unit": "", "baseline": 0, "ratio": None, "target": 0,
            "ok": result["dropped"] == 0 and result["bad_requests"] == 0,
        },
    ]


def measure(
    quick: bool, *, sizes: list[int] | None = None, latency: float = 0.2
) -> list[dict[str, Any]]:
    """This benchmark's rows (the section interface); `quick` runs only the smallest size."""
    chosen = sizes or ([20] if quick else sorted(SIZES))
    rows: list[dict[str, Any]] = []
    for size in chosen:
        result = measure_size(size, latency)
        print(
            f"size {size}: {result['runs']} run(s), {result['calls']} calls "
            f"({result['unattached']} unattached), status {result['status']}; critical path "
            f"{result['chain_calls']} calls + "
            f"{result['chain_sandbox_runs']} sandbox runs = {result['bound_s']:.2f} s; "
            f"wall {result['wall_s']:.2f} s (ratio {result['wall_s'] / result['bound_s']:.3f}); "
            f"(at the stub's latency {result['ideal_bound_s']:.2f} s); "
            f"bare-SDK replay {result['replay_wall_s']:.2f} s "
            f"(ratio {result['replay_wall_s'] / result['bound_s']:.3f}); stub: "
            f"{result['stub_requests']} requests, max {result['stub_max_in_flight']} in flight, "
            f"{result['stub_cpu_s']:.2f} s CPU, {result['dropped']} dropped; this process's CPU "
            f"{result['cpu_s']:.2f} s over the run ({result['cpu_s'] / result['wall_s']:.0%} of "
            f"its wall), {result['replay_cpu_s']:.2f} s over the replay",
            flush=True,
        )
        if result["stop_reason"]:
            print(f"  stop reason: {result['stop_reason']}", flush=True)
        waits = result["waits"]
        print(
            f"  waits on the critical path: {sum(w for w, _ in waits):.2f} s in all; longest "
            + ", ".join(f"{w:.2f} s before {key}" for w, key in waits[:4]),
            flush=True,
        )
        rows += rows_for(result)
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None, help="comma-separated, of 20,200,2000")
    parser.add_argument("--latency", type=float, default=0.2, help="stub seconds per request")
    parser.add_argument("--quick", action="store_true", help="only the smallest size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # the child: one run, its measures as a JSON line
        print(json.dumps(run_one(args.one, args.base_url, Path(args.workdir))))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    if sizes and any(s not in SIZES for s in sizes):
        parser.error(f"--sizes must be among {sorted(SIZES)}")
    rows = measure(args.quick, sizes=sizes, latency=args.latency)
    for name in SECTIONS:
        rows += importlib.import_module(name).measure(args.quick)
    print()
    header = ("name", "value", "unit", "baseline", "ratio", "target", "ok")
    table = [header] + [tuple(_fmt(r.get(k)) for k in header) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    failed = [r["name"] for r in rows if not r["ok"]]
    print("\nFAIL: " + "; ".join(failed) if failed else "\nPASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
