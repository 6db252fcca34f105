"""A stub OpenAI-compatible chat-completions server, run in a process of its own.

It answers every `POST .../chat/completions` after a fixed latency (no jitter) with output that
is valid for the request's schema: for a `response_format` of type `json_schema`, a minimal
instance of that schema (pydantic-ai's test-data generator, seeded by a digest of the request);
for a request that offers tools and no response format, a call to its output tool (one named
`final_result...`, else the first). Raw asyncio streams, HTTP/1.1 keep-alive, a large listen
backlog. `GET /stats` reports connections accepted, requests served, connection errors (a reset
or a request cut off mid-way), the most requests in flight at once and the server's CPU time,
so a benchmark can check that the server dropped nothing and was not the bottleneck.

As a program (what `Stub.start` runs): `python bench/_stub.py --latency 0.2`; it prints
`PORT <n>` once listening and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from pydantic_ai.models.test import _JsonSchemaTestData


@dataclass
class Counters:
    """What the server saw."""

    connections: int = 0
    requests: int = 0
    errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    bad_requests: int = 0


def _seed(body: bytes) -> int:
    return int.from_bytes(hashlib.sha256(body).digest()[:4], "big")


def completion(request: dict[str, Any], seed: int) -> dict[str, Any]:
    """A chat completion that answers `request` with schema-valid output."""
    message: dict[str, Any]
    finish = "stop"
    response_format = request.get("response_format") or {}
    tools = request.get("tools") or []
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"]["schema"]
        content = json.dumps(_JsonSchemaTestData(schema, seed).generate())
        message = {"role": "assistant", "content": content}
    elif tools:
        chosen = next((t for t in tools if t["function"]["name"].startswith("final_result")),
                      tools[0])
        args = _JsonSchemaTestData(chosen["function"].get("parameters") or {}, seed).generate()
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{
                "id": f"call_{seed}",
                "type": "function",
                "function": {"name": chosen["function"]["name"], "arguments": json.dumps(args)},
            }],
        }
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": "ok"}
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.get("messages", []))
    return {
        "id": f"chatcmpl-{seed}",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "stub"),
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": {
            "prompt_tokens": prompt_chars // 4 + 1,
            "completion_tokens": 20,
            "total_tokens": prompt_chars // 4 + 21,
        },
    }


class Server:
    """The server's state and its connection handler."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.counts = Counters()

    def stats(self) -> dict[str, Any]:
        c = self.counts
        return {
            "connections": c.connections, "requests": c.requests, "errors": c.errors,
            "max_in_flight": c.max_in_flight, "bad_requests": c.bad_requests,
            "cpu_s": time.process_time(),
        }

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counts.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:  # cut off inside a request
                        self.counts.errors += 1
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                close = headers.get("connection", "").lower() == "close"
                if method == "GET" and path.endswith("/stats"):
                    status, payload = 200, self.stats()
                elif method == "POST" and path.endswith("/chat/completions"):
                    c = self.counts
                    c.in_flight += 1
                    c.max_in_flight = max(c.max_in_flight, c.in_flight)
                    try:
                        await asyncio.sleep(self.latency_s)
                        payload = completion(json.loads(body), _seed(body))
                        status = 200
                    finally:
                        c.in_flight -= 1
                    c.requests += 1
                else:
                    self.counts.bad_requests += 1
                    status, payload = 404, {"error": {"message": f"no route {method} {path}"}}
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                    f"content-type: application/json\r\ncontent-length: {len(data)}\r\n"
                    f"connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.counts.errors += 1
        finally:
            writer.close()


async def serve(latency_s: float, port: int) -> None:
    """Serve until standard input closes."""
    server = Server(latency_s)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=4096)
    bound = listener.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closes it to stop us
    listener.close()


class Stub:
    """A stub server in a child process: `with Stub.start(latency_s=0.2) as stub: ...`."""

    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self._proc = proc
        self.port = port

    @classmethod
    def start(cls, *, latency_s: float) -> Stub:
        """Start the server process and wait until it listens."""
        proc = subprocess.Popen(
            [sys.executable, __file__, "--latency", str(latency_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            proc.kill()
            raise RuntimeError(f"the stub server did not start: {line!r}")
        return cls(proc, int(line.split()[1]))

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (`.../v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """The server's counters so far."""
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as reply:
            data: dict[str, Any] = json.loads(reply.read())
        return data

    def close(self) -> None:
        """Stop the server process."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Stub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    asyncio.run(serve(args.latency, args.port))


if __name__ == "__main__":
    main()
