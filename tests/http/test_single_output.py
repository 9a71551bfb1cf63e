"""One variation alone at `/api/jobs/{id}/outputs/{file_id}/{index}`: a seekable `video/mp4`
with a strong ETag and its ZIP name, from the disk and from a bucket alike; the ZIP's
access and availability rules and errors."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from service.clock import FixedClock
from service.events.base import NewEvent
from service.events.job import job_stream
from service.http.app import create_app
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.builders import upload_received
from tests.http.download_support import finished_job, services_of
from tests.storage.jobs import put_bytes, stored_job


def output_url(job_id: object, file_id: object, index: int) -> str:
    return f"/api/jobs/{job_id}/outputs/{file_id}/{index}"


@pytest.fixture(params=["disk", "s3"])
async def either_backend(
    request: pytest.FixtureRequest, aiohttp_client: Any, settings: Settings
) -> Any:
    """An API-only client whose outputs live on the local disk, then in SeaweedFS."""
    chosen = settings if request.param == "disk" else request.getfixturevalue("s3_settings")
    return await aiohttp_client(create_app(chosen.model_copy(update={"role": Role.API})))


async def test_a_variation_is_a_seekable_mp4_with_a_strong_etag_and_its_zip_name(
    either_backend: Any,
) -> None:
    # Given a finished job of "summer ad.mp4" with two variations
    client = either_backend
    services = services_of(client)
    alice = await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    job_id, outputs = await stored_job(services, alice.id, [3000, 5000], name="summer ad.mp4")
    file_id = (await services.jobs.get(job_id)).files[0].file_id
    url = output_url(job_id, file_id, 2)
    shown = await (await client.get(f"/api/jobs/{job_id}", headers=headers)).json()
    assert shown["outputs"][1]["download"] == url  # the job view links each variation

    # When variation 2 is fetched whole
    whole = await client.get(url, headers=headers)
    # Then it is that output's bytes, as video/mp4, named as in the ZIP, with a strong tag
    assert whole.status == 200 and await whole.read() == outputs[1].content
    assert whole.content_type == "video/mp4" and whole.headers["Accept-Ranges"] == "bytes"
    disposition = whole.headers["Content-Disposition"]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "summer ad_var02.mp4"
    etag = whole.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong: no W/
    first = await client.head(output_url(job_id, file_id, 1), headers=headers)
    assert first.headers["ETag"] != etag  # each variation its own tag

    # And a HEAD says the same, without a body
    head = await client.head(url, headers=headers)
    assert head.status == 200 and head.headers["ETag"] == etag
    assert head.headers["Content-Length"] == "5000" and await head.read() == b""

    # And a range (a player seeking) is that slice, with Content-Range
    seek = await client.get(url, headers={**headers, "Range": "bytes=100-199"})
    assert seek.status == 206 and seek.headers["Content-Range"] == "bytes 100-199/5000"
    assert await seek.read() == outputs[1].content[100:200]
    # And If-Range with the tag resumes; with another tag the whole body comes back
    resumed = await client.get(url, headers={**headers, "Range": "bytes=4000-", "If-Range": etag})
    assert resumed.status == 206 and await resumed.read() == outputs[1].content[4000:]
    stale = await client.get(url, headers={**headers, "Range": "bytes=4000-", "If-Range": '"x"'})
    assert stale.status == 200 and await stale.read() == outputs[1].content
    # And If-None-Match with the tag is a 304; a range past the end is a 416
    cached = await client.get(url, headers={**headers, "If-None-Match": etag})
    assert cached.status == 304 and cached.headers["ETag"] == etag
    beyond = await client.get(url, headers={**headers, "Range": "bytes=5000-"})
    assert beyond.status == 416

    # When the stored object is replaced behind the service's back (same size)
    await put_bytes(services.storage, outputs[1].key, b"y" * 5000)
    # Then it is refused before the first byte, as the ZIP would be
    replaced = await client.get(url, headers=headers)
    assert replaced.status == 500
    assert (await replaced.json())["error"]["code"] == "output_missing"


async def test_a_variation_follows_the_zips_access_and_availability_rules(
    client: Any, clock: FixedClock, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    job_id, outputs = await finished_job(
        services, alice.id, {"ad.mp4": 1}, retention=timedelta(hours=1)
    )
    file_id = outputs[0].file_id
    url = output_url(job_id, file_id, 1)
    assert (await client.get(url, headers=alice_headers)).status == 200

    async def error(path: str, headers: dict[str, str]) -> tuple[int, str]:
        response = await client.get(path, headers=headers)
        return response.status, (await response.json())["error"]["code"]

    # Without credentials: 401; another user's job: 404, as an unknown job
    assert (await client.get(url)).status == 401
    await make_user(services.database.pool, "bob")
    bob = bearer(await log_in(client, "bob"))
    assert await error(url, bob) == (404, "not_found")
    # An unknown variation or source: 404
    assert (await error(output_url(job_id, file_id, 2), alice_headers))[0] == 404
    assert (await error(output_url(job_id, uuid.uuid4(), 1), alice_headers))[0] == 404
    # A job still waiting for its worker: 404 not_ready, as the ZIP
    created = upload_received(owner_id=alice.id, received_at=clock.now(), names=("a.mp4",))
    result = await services.store.append(job_stream(created.job_id), [NewEvent.of(created)], 0)
    await services.job_view_waiter.wait_for(result, 10)
    waiting = output_url(created.job_id, created.files[0].file_id, 1)
    assert await error(waiting, alice_headers) == (404, "not_ready")
    # Past its expiry: 410, as the ZIP, for any variation of the job
    clock.advance(timedelta(hours=1, seconds=1))
    assert await error(url, alice_headers) == (410, "expired")
    assert await error(output_url(job_id, file_id, 2), alice_headers) == (410, "expired")
