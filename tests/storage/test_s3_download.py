"""The download from a bucket: the same deterministic ZIP from recorded sizes and CRCs,
bodies by ranged GETs guarded by If-Match, resumable; a replaced object aborts the
transfer before a wrong byte; a store that is down fails it before the first byte."""

from __future__ import annotations

import asyncio
import io
import zipfile
import zlib
from typing import Any

import aiohttp
import pytest

from service.http.app import create_app
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.http.download_support import fetch, services_of
from tests.storage.jobs import put_bytes, stored_job
from tests.storage.test_unavailable import dead_endpoint

MIB = 1024 * 1024


@pytest.fixture
async def s3_client(aiohttp_client: Any, s3_settings: Settings) -> Any:
    return await aiohttp_client(create_app(s3_settings.model_copy(update={"role": Role.API})))


@pytest.fixture
async def alice_s3(s3_client: Any) -> tuple[Any, dict[str, str]]:
    alice = await make_user(services_of(s3_client).database.pool, "alice")
    return alice, bearer(await log_in(s3_client, "alice"))


async def test_the_zip_from_a_bucket_holds_the_objects_and_every_range_is_a_slice_of_it(
    s3_client: Any, alice_s3: Any
) -> None:
    # Given a job whose three outputs are objects in SeaweedFS (one spans several GETs)
    alice, headers = alice_s3
    job_id, outputs = await stored_job(services_of(s3_client), alice.id, [3000, 9 * MIB, 1])
    # When it is downloaded
    response = await fetch(s3_client, job_id, headers)
    full = await response.read()
    # Then it is a STORE ZIP of exactly those objects, with their recorded CRCs
    assert response.status == 200 and len(full) == int(response.headers["Content-Length"])
    archive = zipfile.ZipFile(io.BytesIO(full))
    assert archive.testzip() is None
    for info, output in zip(archive.infolist(), outputs, strict=True):
        assert archive.read(info) == output.content
        assert zlib.crc32(output.content) == info.CRC
    # And a resume from the middle of the big body (If-Range = the ETag) is that slice
    middle = len(full) // 2
    resumed = await fetch(
        s3_client,
        job_id,
        headers,
        Range=f"bytes={middle}-",
        **{"If-Range": response.headers["ETag"]},
    )
    assert resumed.status == 206 and await resumed.read() == full[middle:]
    # And a HEAD says the same without reading anything
    head = await s3_client.head(f"/api/jobs/{job_id}/download", headers=headers)
    assert head.headers["ETag"] == response.headers["ETag"]


async def test_an_object_replaced_before_the_download_fails_it_before_the_first_byte(
    s3_client: Any, alice_s3: Any
) -> None:
    alice, headers = alice_s3
    services = services_of(s3_client)
    job_id, outputs = await stored_job(services, alice.id, [1000, 1000])
    # When the second object is replaced behind the service's back (same size)
    await put_bytes(services.storage, outputs[1].key, b"y" * 1000)
    # Then the download is refused as a JSON error, before any archive byte
    response = await fetch(s3_client, job_id, headers)
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "output_missing"


async def test_an_object_replaced_mid_transfer_cuts_it_short_without_a_wrong_byte(
    s3_client: Any, alice_s3: Any
) -> None:
    # Given a download of two objects, of which the client has read the start; both are
    # larger than socket buffers plus the read-ahead (DEPTH x CHUNK_BYTES = 16 MiB), so
    # ranged GETs of the second object are still to come when it is replaced
    alice, headers = alice_s3
    services = services_of(s3_client)
    job_id, outputs = await stored_job(services, alice.id, [24 * MIB, 40 * MIB])
    expected = await (await fetch(s3_client, job_id, headers)).read()
    response = await fetch(s3_client, job_id, headers)
    received = await response.content.readexactly(64 * 1024)
    # When the second object is replaced (same size, other bytes)
    await put_bytes(services.storage, outputs[1].key, bytes(40 * MIB))
    # Then the transfer ends short (If-Match failed) and every byte sent was right
    with pytest.raises(aiohttp.ClientPayloadError):
        while chunk := await response.content.read(MIB):
            received += chunk
    assert len(received) < len(expected)
    assert received == expected[: len(received)]


async def test_a_bucket_that_is_down_fails_the_download_before_the_first_byte(
    aiohttp_client: Any, settings: Settings, s3_client: Any, alice_s3: Any
) -> None:
    # Given a job recorded with its objects, and an API whose bucket is unreachable
    alice, _ = alice_s3
    job_id, _ = await stored_job(services_of(s3_client), alice.id, [1000])
    down = settings.model_copy(
        update={"storage_url": "s3://vr-test/x", "s3_endpoint": dead_endpoint(), "role": Role.API}
    )
    client = await aiohttp_client(create_app(down))
    headers = bearer(await log_in(client, "alice"))
    # When the download is asked for
    response = await fetch(client, job_id, headers)
    # Then it is a 503 JSON error, not a broken archive
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "storage_unavailable"
    await asyncio.sleep(0)
