"""Resuming: a client that cuts its connection mid-PATCH, and a server SIGKILLed
mid-PATCH. Either way HEAD reports an offset whose bytes are on disk, and finishing from
it stores a file whose SHA-256 equals the source's."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from service.bootstrap import Services
from service.events.job import UploadReceived
from service.settings import Settings
from service.tus.receive import COMMIT_EVERY_BYTES
from tests.accounts.support import PASSWORD, bearer, make_user
from tests.cli.test_commands import ROOT, cli_env, free_port
from tests.http.tus_support import TUS, metadata, offset_of, patch, stored, video_bytes
from tests.support import eventually

MIB = 2**20


async def job_sha256(
    client_or_session: Any, base: str, headers: dict[str, str], upload_id: str, services: Services
) -> str:
    """Make a job of the upload; the SHA-256 its UploadReceived records."""
    response = await client_or_session.post(
        f"{base}/api/jobs", json={"uploads": [upload_id], "variations": 1}, headers=headers
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    [recorded] = await services.store.read_stream(f"job-{job_id}")
    assert isinstance(recorded.event, UploadReceived)
    return recorded.event.files[0].sha256


async def test_a_client_that_cuts_mid_patch_resumes_from_what_arrived(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    # Given a 3 MiB upload
    data = video_bytes(3 * MIB)
    created = await client.post(
        "/api/uploads",
        headers={
            **alice_headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(),
        },
    )
    location = created.headers["Location"]
    # When a PATCH announcing all of it sends 2.5 MiB and the connection drops
    cut = 5 * MIB // 2
    _, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: {alice_headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    writer.write(head.encode() + data[:cut])
    await writer.drain()
    writer.close()  # as when the client process dies: the kernel closes its socket
    # Then HEAD reports the bytes the server read before the cut (bytes still in flight
    # when a connection drops are lost with it), and they are on disk
    await eventually(lambda: _offset_above(client, alice_headers, location, 0))
    offset = await resume(client, alice_headers, location, data)
    assert 0 < offset <= cut
    # And the upload finishes from there with the source's SHA-256
    assert stored(settings, location).read_bytes() == data
    upload_id = location.rsplit("/", 1)[1]
    services = _services(client)
    digest = await job_sha256(client, "", alice_headers, upload_id, services)
    assert digest == hashlib.sha256(data).hexdigest()


def _services(client: Any) -> Services:
    from service.http.keys import SERVICES

    return client.app[SERVICES]


async def _offset_above(client: Any, headers: dict[str, str], location: str, floor: int) -> bool:
    return await offset_of(client, headers, location) > floor


async def resume(client: Any, headers: dict[str, str], location: str, data: bytes) -> int:
    """HEAD, then PATCH the rest, as tus clients resume; again after a 409 (the cut PATCH
    may still be recording what it read). The offset the upload resumed from."""
    for _ in range(20):
        offset = await offset_of(client, headers, location)
        on_disk = await asyncio.to_thread(_read, client, location)
        assert len(on_disk) >= offset and on_disk[:offset] == data[:offset]
        response = await patch(client, headers, location, offset, data[offset:])
        if response.status == 204:
            return offset
        assert response.status == 409, await response.text()
        await asyncio.sleep(0.1)
    raise AssertionError("could not resume")


def _read(client: Any, location: str) -> bytes:
    return stored(_services(client).settings, location).read_bytes()


async def test_a_server_killed_mid_patch_resumes_from_a_durable_offset(
    services: Services, settings: Settings, database_url: str
) -> None:
    # Given a real `serve` process and an upload of 24 MiB
    await make_user(services.database.pool, "alice")
    source = video_bytes(24 * MIB)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await start_server(database_url, settings.data_dir, port)
    async with aiohttp.ClientSession() as session:
        try:
            await wait_ready(session, base)
            login = await session.post(
                f"{base}/api/auth/login", json={"username": "alice", "password": PASSWORD}
            )
            headers = bearer((await login.json())["token"])
            created = await session.post(
                f"{base}/api/uploads",
                headers={
                    **headers,
                    **TUS,
                    "Upload-Length": str(len(source)),
                    "Upload-Metadata": metadata(),
                },
            )
            location = created.headers["Location"]
            upload_id = location.rsplit("/", 1)[1]
            # When a PATCH of all of it has sent 20 MiB (the server recorded progress on
            # the way) and the server is SIGKILLed while the body is still arriving
            hold = asyncio.Event()
            sending = asyncio.ensure_future(
                session.patch(
                    f"{base}{location}",
                    data=_body(source, 20 * MIB, hold),
                    headers={
                        **headers,
                        **TUS,
                        "Upload-Offset": "0",
                        "Content-Type": "application/offset+octet-stream",
                        "Content-Length": str(len(source)),
                    },
                )
            )

            async def progressed() -> bool:
                offset = await services.database.pool.fetchval(
                    'SELECT "offset" FROM tus_uploads WHERE upload_id = $1::uuid', upload_id
                )
                return offset >= COMMIT_EVERY_BYTES

            await eventually(progressed, within=60)
            server.send_signal(signal.SIGKILL)
            await server.wait()
        finally:
            if server.returncode is None:
                server.kill()
                await server.wait()
        with contextlib.suppress(Exception):
            await sending
        # Then a restarted server's HEAD reports an offset whose bytes are on disk
        server = await start_server(database_url, settings.data_dir, port)
        try:
            await wait_ready(session, base)
            head = await session.head(f"{base}{location}", headers={**headers, **TUS})
            offset = int(head.headers["Upload-Offset"])
            assert COMMIT_EVERY_BYTES <= offset < len(source)
            on_disk = (settings.tus_dir / upload_id).read_bytes()
            assert len(on_disk) >= offset and on_disk[:offset] == source[:offset]
            # And resuming from it stores a file with the source's SHA-256
            resumed = await session.patch(
                f"{base}{location}",
                data=source[offset:],
                headers={
                    **headers,
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert resumed.status == 204, await resumed.text()
            digest = await job_sha256(session, base, headers, upload_id, services)
            assert digest == hashlib.sha256(source).hexdigest()
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 30)


async def _body(data: bytes, until: int, hold: asyncio.Event) -> AsyncIterator[bytes]:
    """`data` up to `until`, 1 MiB at a time, then nothing more until `hold` is set."""
    for start in range(0, until, MIB):
        yield data[start : start + MIB]
    await hold.wait()


async def start_server(database_url: str, data_dir: Path, port: int) -> Any:
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(data_dir),
        VR_ROLE="api",
        VR_PORT=str(port),
        VR_POLL_INTERVAL_S="0.05",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "serve",
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    async def ready() -> bool:
        try:
            async with session.get(f"{base}/readyz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ready, within=60)
