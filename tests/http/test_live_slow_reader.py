"""A client that stops reading is dropped once its bounded buffer is full, while a reading
client on the same events gets every one of them."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from service.events.job import job_stream
from service.events.store import ANY
from service.http.keys import SERVICES
from service.http.live import LIVE_HUB
from tests import builders
from tests.http.live_support import new_job, stream
from tests.support import eventually

BATCH = 100
MAX_EVENTS = 20_000  # far more than the inbox (256) and the socket buffers hold


async def stalled_stream(client: Any, path: str, headers: dict[str, str]) -> Any:
    """Open a stream over a raw socket with a tiny receive buffer, and never read it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (client.host, client.port))
    lines = [f"GET {path} HTTP/1.1", f"Host: {client.host}:{client.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    await asyncio.get_running_loop().sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


async def test_a_client_that_never_reads_is_dropped_and_a_reading_one_is_not(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = client.app[SERVICES]
    hub = client.app[LIVE_HUB]
    job_id = await new_job(client, alice.id, names=("a.mp4",))
    file_id = (await services.jobs.get(job_id)).files[0].file_id
    async with stream(client, "/api/live", alice_headers) as reader:
        await reader.next()
        # Given a second stream whose client never reads
        stalled = await stalled_stream(client, "/api/live", alice_headers)
        try:
            await eventually(lambda: hub.streams == 2)
            # When the job's events keep coming
            appended = 0
            received = 0
            while hub.streams == 2 and appended < MAX_EVENTS:
                events = [
                    builders.new(builders.variation_rendered(job_id, file_id, 1 + i % 20))
                    for i in range(BATCH)
                ]
                await services.store.append(job_stream(job_id), events, ANY)
                appended += BATCH
                received += len(await reader.take(BATCH))
            # Then the stalled stream was dropped (and only it)
            assert hub.streams == 1, appended
            # And the reading client got every event appended meanwhile
            assert received == appended
        finally:
            stalled.close()
