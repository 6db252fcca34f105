"""The OpenAI clients' HTTP pool checks idle connections with one poll of a socket found once."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from autoalign.models import ProviderConfig
from autoalign.models._pool import _Backend, _Stream
from autoalign.models.openai import OpenAIModels

from .stub_openai import completion


class _Inner:
    """A network stream that records which attributes it was asked for."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return {"socket": self.sock, "server_addr": ("127.0.0.1", 1)}.get(info)


def test_the_idle_check_polls_the_socket_found_at_connect() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        inner = _Inner(ours)
        stream = _Stream(inner)
        assert [stream.get_extra_info("is_readable") for _ in range(3)] == [False] * 3
        theirs.close()  # the server closes the idle connection: its end of file is readable
        assert stream.get_extra_info("is_readable") is True
        assert inner.asked == ["socket"]  # found once; each check was a poll, not a lookup
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", 1)  # the rest is the inner's
    assert stream.get_extra_info("is_readable") is True  # a closed socket counts as readable


async def test_a_client_reuses_live_connections_and_drops_ones_the_server_closed() -> None:
    """Through a real connection pool: a kept-alive connection is reused; one the server closed
    while it was idle is seen closed and replaced, and the request on it succeeds."""
    connections = 0
    close_after_reply = False

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                await reader.readexactly(length)
                data = json.dumps(completion('{"answer": "ok"}')).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n" % len(data) + data)
                await writer.drain()
                if close_after_reply:  # an idle timeout on the server's side
                    return
        except asyncio.IncompleteReadError:
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = ProviderConfig(base_url=f"http://127.0.0.1:{port}/v1", timeout_s=10.0)
    built = OpenAIModels().build("m", config, seed=0)
    assert built.direct is not None
    sdk = built.direct._client
    assert isinstance(sdk._client._transport._pool._network_backend, _Backend)

    async def ask() -> None:
        reply = await sdk.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == '{"answer": "ok"}'

    try:
        await ask()
        await ask()
        assert connections == 1  # kept alive and reused
        close_after_reply = True
        await ask()  # still on the first connection, which the server closes after replying
        await asyncio.sleep(0.1)
        await ask()
        assert connections == 2
    finally:
        await sdk.close()
        server.close()
        await server.wait_closed()


def test_a_client_laid_out_otherwise_is_left_as_it_was() -> None:
    from autoalign.models._pool import cheap_idle_checks

    class Plain:
        pass

    assert cheap_idle_checks(Plain()) is False


@pytest.fixture(autouse=True)
def _network_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenAIModels, "transport", None)  # the SDK's own pool, not a mock
