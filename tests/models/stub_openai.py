"""A scripted OpenAI-compatible HTTP server on the loopback interface, for fault injection.

Each request to `POST /v1/chat/completions` takes the next fault from the script (the last one
repeats); `recover()` swaps the script for healthy answers. The server binds 127.0.0.1 on a free
port, so tests reach nothing beyond this machine.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal[
    "ok", "latency", "status", "hang", "html", "empty_choices", "no_message", "truncated", "reset",
    "length",
]


@dataclass(frozen=True)
class Fault:
    """What the server does with one request."""

    kind: FaultKind
    status: int = 200
    """HTTP status, for `status`."""
    delay_s: float = 0.0
    """Seconds to wait before answering, for `latency`."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (e.g. Retry-After)."""


OK = Fault("ok")


def completion(
    content: str, *, prompt_tokens: int = 12, completion_tokens: int = 7
) -> dict[str, Any]:
    """A chat completion whose message is `content`."""
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "stub",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class StubServer:
    """The server; use as a context manager. `answer(body)` makes the healthy reply's content.

    Args:
        script: faults for the first requests, in order; the last repeats.
        answer: the message content of a healthy reply, given the request body.
    """

    def __init__(self, *script: Fault, answer: Any = None) -> None:
        self.script: list[Fault] = list(script) or [OK]
        self.answer = answer or (lambda _body: '{"claim": "probes find the feature", '
                                 '"supported": true}')
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def recover(self) -> None:
        """From now on, answer every request normally."""
        with self._lock:
            self.script = [OK]
            self._served = 0

    def __enter__(self) -> StubServer:
        self._served = 0
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()  # releases hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> Fault:
        with self._lock:
            self.requests.append(body)
            fault = self.script[min(self._served, len(self.script) - 1)]
            self._served += 1
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fault = server._next(body)
                if fault.kind == "hang":
                    server._stop.wait()
                    self.close_connection = True
                    return
                if fault.kind == "reset":
                    self._reset()
                    return
                if fault.kind == "latency":
                    time.sleep(fault.delay_s)
                healthy = completion(server.answer(body))
                if fault.kind in ("ok", "latency"):
                    self._send(200, json.dumps(healthy).encode(), "application/json", fault)
                elif fault.kind == "length":  # the answer, cut off at max_tokens
                    healthy["choices"][0]["finish_reason"] = "length"
                    self._send(200, json.dumps(healthy).encode(), "application/json", fault)
                elif fault.kind == "status":
                    error = {"error": {"message": f"stub says {fault.status}", "type": "stub"}}
                    self._send(fault.status, json.dumps(error).encode(), "application/json", fault)
                elif fault.kind == "html":
                    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
                    self._send(200, page, "text/html", fault)
                elif fault.kind == "empty_choices":
                    self._send(200, json.dumps({**healthy, "choices": []}).encode(),
                               "application/json", fault)
                elif fault.kind == "no_message":
                    choice = {"index": 0, "finish_reason": "stop"}
                    self._send(200, json.dumps({**healthy, "choices": [choice]}).encode(),
                               "application/json", fault)
                elif fault.kind == "truncated":
                    whole = json.dumps(healthy).encode()
                    self._send(200, whole[: len(whole) // 2], "application/json", fault)

            def _send(self, status: int, payload: bytes, content_type: str, fault: Fault) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()

            def _reset(self) -> None:
                # Headers promise a body, then the connection is torn down with a TCP reset.
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "4096")
                self.end_headers()
                self.wfile.write(b'{"id": "chatcmpl-stub", "choi')
                self.wfile.flush()
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

        return Handler
