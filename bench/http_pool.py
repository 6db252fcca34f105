"""The HTTP pool's idle-connection checks: one request's time with many idle connections pooled,
the SDK's default client against the one `autoalign` builds (`models/_pool.py`), in the same run.

The pool asks every idle connection whether the server has closed it each time a request joins
or leaves it. A run with a few hundred requests in flight keeps as many connections, so each
request pays for all of them. For each client this opens `--idle` connections to the stub
server (`bench/_stub.py`, no latency) with as many concurrent requests, then times `--requests`
requests one after another, each finding those connections idle. The two clients alternate in
blocks, so that a machine's load drifts over both alike; the median per request is reported,
and the ratio of autoalign's client to the SDK's default.

Run:  python bench/http_pool.py [--idle 100] [--requests 400] [--quick]
`measure(quick)` returns the rows for `bench/pipeline.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from _stub import Stub  # bench/_stub.py: this script's folder is on sys.path
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from autoalign.models import ProviderConfig
from autoalign.models.openai import OpenAIModels


async def _request(client: AsyncOpenAI) -> None:
    await client.chat.completions.create(
        model="stub", messages=[{"role": "user", "content": "hi"}], max_tokens=5,
    )


async def _timed(clients: dict[str, AsyncOpenAI], idle: int, requests: int,
                 blocks: int) -> dict[str, list[float]]:
    for client in clients.values():  # open `idle` connections in each pool
        await asyncio.gather(*(_request(client) for _ in range(idle)))
    times: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(blocks):
        for name, client in clients.items():
            for _ in range(requests // blocks):
                started = time.perf_counter()
                await _request(client)
                times[name].append(time.perf_counter() - started)
    return times


def run(idle: int, requests: int, blocks: int = 8) -> dict[str, float]:
    """Median seconds per request of each client, against a fresh stub server."""
    with Stub.start(latency_s=0.0) as stub:
        built = OpenAIModels().build("stub", ProviderConfig(base_url=stub.base_url), seed=0)
        assert built.direct is not None
        clients = {
            "sdk default": AsyncOpenAI(base_url=stub.base_url, api_key="dummy", max_retries=0,
                                       http_client=DefaultAsyncHttpxClient()),
            "autoalign": built.direct._client,
        }

        async def main() -> dict[str, list[float]]:
            try:
                return await _timed(clients, idle, requests, blocks)
            finally:
                for client in clients.values():
                    await client.close()

        times = asyncio.run(main())
    return {name: statistics.median(values) for name, values in times.items()}


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """The row for `bench/pipeline.py`: autoalign's client against the SDK's default."""
    idle = 100
    medians = run(idle, 160 if quick else 400)
    ours, default = medians["autoalign"], medians["sdk default"]
    return [{
        "name": f"http pool: one request with {idle} idle connections (baseline: SDK default)",
        "value": ours * 1000, "unit": "ms", "baseline": default * 1000,
        "ratio": ours / default, "target": "< 1", "ok": ours < default,
    }]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=100, help="connections opened first")
    parser.add_argument("--requests", type=int, default=400, help="timed, one at a time")
    parser.add_argument("--quick", action="store_true", help="160 requests")
    args = parser.parse_args()
    medians = run(args.idle, 160 if args.quick else args.requests)
    for name, value in medians.items():
        print(f"{name:<12} {value * 1000:7.3f} ms per request ({args.idle} idle connections)")
    print(f"ratio autoalign / sdk default: {medians['autoalign'] / medians['sdk default']:.3f}")


if __name__ == "__main__":
    main()
