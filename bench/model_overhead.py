"""Overhead of the model layer per call, against the bare OpenAI SDK, in the same run.

A stub OpenAI-compatible server on localhost answers every chat completion after a fixed
latency. The same number of structured calls is made twice: with the bare `openai` SDK (request
with a JSON-schema response format, reply parsed into the pydantic model) and through
`autoalign.models.ModelClient` (which adds the pydantic-ai agent, the cache lookup, the budget
check, the ledger row and the cache write on a real SQLite database). Every prompt is distinct,
so no call is a cache hit. The cache-hit path is timed separately.

Run:  python bench/model_overhead.py [--calls 200] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any

from openai import AsyncOpenAI
from pydantic import BaseModel, Field

from autoalign.models import ModelClient, ModelsConfig, ProviderConfig
from autoalign.store import Store


class Answer(BaseModel):
    answer: Annotated[str, Field(max_length=100)]
    score: int = Field(ge=0, le=10)


def make_handler(latency_s: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            request = json.loads(self.rfile.read(length))
            time.sleep(latency_s)
            body = json.dumps(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": 0,
                    "model": request.get("model", "stub"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {
                                "role": "assistant",
                                "content": json.dumps({"answer": "ok", "score": 7}),
                            },
                        }
                    ],
                    "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    return Handler


async def bare_sdk(base_url: str, n: int) -> list[float]:
    client = AsyncOpenAI(base_url=base_url, api_key="stub", max_retries=0)
    schema = {"name": "Answer", "schema": Answer.model_json_schema(), "strict": True}
    times = []
    for i in range(n):
        start = time.perf_counter()
        reply = await client.chat.completions.create(
            model="stub",
            messages=[
                {"role": "system", "content": "Answer in JSON."},
                {"role": "user", "content": f"Question number {i}?"},
            ],
            response_format={"type": "json_schema", "json_schema": schema},  # type: ignore[typeddict-item]
            temperature=0.7,
            max_tokens=64,
        )
        Answer.model_validate_json(reply.choices[0].message.content or "")
        times.append(time.perf_counter() - start)
    await client.close()
    return times


async def through_autoalign(base_url: str, n: int, db: Path) -> tuple[list[float], list[float]]:
    config = ModelsConfig(
        default="openai:stub",
        providers={"openai": ProviderConfig(base_url=base_url, api_key_env="AUTOALIGN_BENCH_KEY")},
    )
    store = Store.open(f"sqlite:///{db}")
    run = store.create_run(name="bench", agenda_digest="bench", config={})
    client = ModelClient(config=config, ledger=store, run_id=run.id)
    paid, cached = [], []
    for i in range(n):
        start = time.perf_counter()
        reply = await client.ask(
            "worker", Answer, instructions="Answer in JSON.", prompt=f"Question number {i}?"
        )
        paid.append(time.perf_counter() - start)
        assert reply.ok and not reply.cache_hit, reply.error
    for i in range(n):
        start = time.perf_counter()
        reply = await client.ask(
            "worker", Answer, instructions="Answer in JSON.", prompt=f"Question number {i}?"
        )
        cached.append(time.perf_counter() - start)
        assert reply.cache_hit
    await client.aclose()
    store.close()
    return paid, cached


def describe(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    mean = statistics.fmean(ms)
    half = 1.96 * statistics.stdev(ms) / len(ms) ** 0.5
    median = statistics.median(ms)
    return (
        f"{name:<28} n={len(ms):<5} mean {mean:8.2f} ms  95% CI ±{half:.2f}  "
        f"median {median:8.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    import os

    os.environ.setdefault("AUTOALIGN_BENCH_KEY", "stub")
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.latency_ms / 1000))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        # Warm both paths (imports, connection pools) before timing.
        asyncio.run(bare_sdk(base_url, 5))
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(through_autoalign(base_url, 5, Path(tmp) / "warm.db"))
            bare = asyncio.run(bare_sdk(base_url, args.calls))
            paid, cached = asyncio.run(through_autoalign(base_url, args.calls, Path(tmp) / "b.db"))
    finally:
        server.shutdown()
    print(f"stub server latency {args.latency_ms:g} ms, {args.calls} sequential calls each\n")
    print(describe("bare openai SDK", bare))
    print(describe("autoalign.models (miss)", paid))
    print(describe("autoalign.models (cache hit)", cached))
    overhead = statistics.fmean(paid) - statistics.fmean(bare)
    ratio = statistics.fmean(paid) / statistics.fmean(bare)
    low, high = bootstrap_ratio(paid, bare)
    print(f"\noverhead per call: {overhead * 1000:.2f} ms")
    print(f"ratio autoalign / bare SDK: {ratio:.3f} (95% bootstrap CI {low:.3f} to {high:.3f})")


def bootstrap_ratio(a: list[float], b: list[float], *, n_boot: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) / mean(b), resampling each list on its own."""
    rng = random.Random(0)
    ratios = sorted(
        statistics.fmean(rng.choices(a, k=len(a))) / statistics.fmean(rng.choices(b, k=len(b)))
        for _ in range(n_boot)
    )
    return ratios[int(0.025 * n_boot)], ratios[int(0.975 * n_boot) - 1]


if __name__ == "__main__":
    main()
