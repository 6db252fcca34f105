"""A cheaper answer to the HTTP pool's "has the server closed this idle connection?".

The SDK's HTTP pool (httpx2 over httpcore2) sorts its connections whenever a request joins or
leaves it, and asks every idle connection whether the server has closed it. Each answer went
through anyio's socket attributes, which rebuild their whole map (asking the kernel for the
peer's address) to hand back the socket, and then polled the socket. With a few dozen idle
connections, a burst of a few hundred requests spent several percent of the event loop's time
there (docs/scaling.md). `cheap_idle_checks` wraps the pool's network backend so that each
connection finds its socket once, when it connects, and answers with one poll.

Nothing else changes: reads, writes, TLS and every other attribute go to the stream the pool
would have used. Where the pool is not laid out as expected (another HTTP library version),
or the platform has no `poll`, the client is left as it was, and `cheap_idle_checks` says so.
"""

from __future__ import annotations

import select
from typing import Any


def _readable(sock: Any) -> bool:
    """Whether the socket has something to read (for an idle HTTP/1.1 connection, the
    server's close), without waiting; a closed socket counts as readable, as httpcore2
    counts it."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class _Stream:
    """A connection's network stream, answering `is_readable` from the socket found at
    connect time; everything else is the wrapped stream's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._inner.read(max_bytes, timeout)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> _Stream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend:
    """The pool's network backend, handing out `_Stream`s."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def cheap_idle_checks(client: Any) -> bool:
    """Wrap the network backend of `client`'s (an `httpx2.AsyncClient`) default connection
    pool; True if it was wrapped, False if the client is not laid out as expected or the
    platform has no `poll` (the client is then unchanged)."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None or not hasattr(select, "poll"):
        return False
    if not isinstance(backend, _Backend):
        pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return True
