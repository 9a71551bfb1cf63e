"""A TCP proxy the test controls, between Chromium and `serve`: it passes bytes on as they
come and keeps a copy of each connection's two directions; `cut()` closes every
connection and holds new ones until `restore()`, as a laptop that sleeps or a network
that drops sees it. (Chromium's offline emulation leaves an open EventSource alone.)"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType

READ_BYTES = 64 * 1024


@dataclass
class Connection:
    """What one connection carried: `sent` by the browser, `received` from the server."""

    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)


class CuttableProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections: list[Connection] = []
        self._open = asyncio.Event()
        self._open.set()
        self._live: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._closing = False

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> CuttableProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._closing = True
        self._server.close()
        await self.cut()
        self._open.set()  # held connections are closed, not let through
        await self._server.wait_closed()

    async def cut(self) -> None:
        """Close every open connection (both sides); hold new ones until `restore()`."""
        self._open.clear()
        writers = list(self._live)
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def restore(self) -> None:
        """Let held and new connections through to `serve` again."""
        self._open.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await self._open.wait()
                if self._closing:
                    raise ConnectionAbortedError("the proxy is closing")
                up_reader, up_writer = await asyncio.open_connection(
                    "127.0.0.1", self.upstream_port
                )
                if self._open.is_set():
                    break
                up_writer.close()  # cut while connecting: hold this one too
        except OSError:
            writer.close()
            return
        connection = Connection()
        self.connections.append(connection)
        self._live |= {writer, up_writer}
        pipes = [
            asyncio.ensure_future(_pipe(reader, up_writer, connection.sent)),
            asyncio.ensure_future(_pipe(up_reader, writer, connection.received)),
        ]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            for end in (writer, up_writer):
                self._live.discard(end)
                end.close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, copy: bytearray
) -> None:
    """Pass bytes on until either side ends (HTTP/1.1 has no use for half-closed sockets)."""
    with contextlib.suppress(OSError):
        while data := await reader.read(READ_BYTES):
            copy += data
            writer.write(data)
            await writer.drain()
