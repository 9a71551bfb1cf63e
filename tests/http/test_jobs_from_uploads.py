"""`POST /api/jobs` with JSON naming finished tus uploads: the same `UploadReceived` as
multipart, the bytes moved into the job without a copy, and each refusal naming the
upload."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from service.clock import FixedClock
from service.events.job import UploadReceived
from service.http.keys import SERVICES
from service.settings import Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.http.tus_support import (
    assert_error,
    new_upload,
    patch,
    sha256,
    stored,
    upload_whole,
    video_bytes,
)
from tests.http.upload_support import FTYP_MOV


async def make_job(client: Any, headers: dict[str, str], body: Any, **more: str) -> Any:
    return await client.post("/api/jobs", json=body, headers={**headers, **more})


async def test_a_job_of_finished_uploads_records_the_same_upload_received_as_multipart(
    client: Any, alice_headers: dict[str, str], settings: Settings, alice: Any
) -> None:
    # Given two finished uploads, an MP4 and a MOV
    mp4 = video_bytes(300_000)
    mov = FTYP_MOV + mp4[len(FTYP_MOV) : 200_000]
    first = await upload_whole(client, alice_headers, mp4)
    second = await upload_whole(client, alice_headers, mov)
    inodes = [(settings.tus_dir / u).stat().st_ino for u in (first, second)]
    # When she makes a job of them
    response = await make_job(client, alice_headers, {"uploads": [first, second], "variations": 3})
    # Then it is created like a multipart job, and visible at once
    assert response.status == 202, await response.text()
    body = await response.json()
    assert body["status"] == "received" and body["variations_per_video"] == 3
    assert [f["id"] for f in body["files"]] == [first, second]
    assert [f["size"] for f in body["files"]] == [len(mp4), len(mov)]
    shown = await client.get(f"/api/jobs/{body['job_id']}", headers=alice_headers)
    assert shown.status == 200
    # And the log records each file's size, SHA-256 and our path in the job's folder
    services = client.app[SERVICES]
    [recorded] = await services.store.read_stream(f"job-{body['job_id']}")
    event = recorded.event
    assert isinstance(event, UploadReceived) and event.owner_id == alice.id
    assert [(f.name, f.size, f.sha256) for f in event.files] == [
        ("ad.mp4", len(mp4), sha256(mp4)),
        ("ad.mp4", len(mov), sha256(mov)),
    ]
    assert [f.key for f in event.files] == [
        f"uploads/{body['job_id']}/{first}.mp4",
        f"uploads/{body['job_id']}/{second}.mov",
    ]
    # And the bytes moved without a copy: the same inodes, no tus name left
    for f, inode, data in zip(event.files, inodes, (mp4, mov), strict=True):
        path = settings.data_dir / f.key
        assert path.stat().st_ino == inode and path.stat().st_nlink == 1
        assert path.read_bytes() == data
    assert list(settings.tus_dir.iterdir()) == []


async def test_an_upload_joins_one_job_only(client: Any, alice_headers: dict[str, str]) -> None:
    upload = await upload_whole(client, alice_headers, video_bytes(100_000))
    assert (await make_job(client, alice_headers, {"uploads": [upload]})).status == 202
    again = await make_job(client, alice_headers, {"uploads": [upload]})
    await assert_error(again, 409, "upload_in_job", field="uploads", upload=upload)
    # and DELETE of it is refused the same way: it belongs to the job
    from tests.http.tus_support import TUS

    response = await client.delete(f"/api/uploads/{upload}", headers={**alice_headers, **TUS})
    await assert_error(response, 409, "upload_in_job", upload=upload)


async def test_an_unfinished_upload_is_409_naming_it_and_nothing_is_made(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    done = await upload_whole(client, alice_headers, video_bytes(100_000))
    location = await new_upload(client, alice_headers, 100_000)
    await patch(client, alice_headers, location, 0, video_bytes(100_000)[:50_000])
    half = location.rsplit("/", 1)[1]
    response = await make_job(client, alice_headers, {"uploads": [done, half]})
    await assert_error(response, 409, "upload_incomplete", field="uploads", upload=half)
    assert await client.app[SERVICES].database.pool.fetchval("SELECT count(*) FROM events") == 0
    assert (settings.tus_dir / done).exists() and stored(settings, location).exists()
    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == ["tus"]
    assert sorted(p.name for p in settings.tus_dir.iterdir()) == sorted([done, half])
    # and the finished one is still free for a job
    assert (await make_job(client, alice_headers, {"uploads": [done]})).status == 202


async def test_unknown_and_other_users_uploads_are_400_naming_them(
    client: Any, alice_headers: dict[str, str], app_pool: Any
) -> None:
    await make_user(app_pool, "mallory")
    mallory = bearer(await log_in(client, "mallory"))
    hers = await upload_whole(client, alice_headers, video_bytes(100_000))
    unknown = str(uuid.uuid4())
    for ids, named in (([hers], hers), ([unknown], unknown), (["nope"], "nope")):
        response = await make_job(client, mallory, {"uploads": ids})
        await assert_error(response, 400, "unknown_upload", field="uploads", upload=named)


async def test_an_expired_upload_cannot_make_a_job(
    client: Any, alice_headers: dict[str, str], clock: FixedClock, settings: Settings
) -> None:
    upload = await upload_whole(client, alice_headers, video_bytes(100_000))
    clock.advance(timedelta(seconds=settings.upload_expiry_s + 1))
    fresh = bearer(await log_in(client, "alice"))  # her token has expired too
    response = await make_job(client, fresh, {"uploads": [upload]})
    await assert_error(response, 409, "upload_expired", upload=upload)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"uploads": []}, "uploads"),
        ({"uploads": "abc"}, "uploads"),
        ({"variations": 2}, "uploads"),
        ({"uploads": [str(uuid.uuid4())], "variations": 21}, "variations"),
        ({"uploads": [str(uuid.uuid4())], "variations": "3"}, "variations"),
        ({"uploads": [str(uuid.uuid4())], "colour": "red"}, "colour"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_field(
    client: Any, alice_headers: dict[str, str], body: Any, field: str
) -> None:
    await assert_error(await make_job(client, alice_headers, body), 400, "bad_request", field=field)


async def test_an_upload_named_twice_is_400(client: Any, alice_headers: dict[str, str]) -> None:
    upload = await upload_whole(client, alice_headers, video_bytes(100_000))
    response = await make_job(client, alice_headers, {"uploads": [upload, upload]})
    await assert_error(response, 400, "duplicate_upload", upload=upload)


async def test_invalid_json_is_400(client: Any, alice_headers: dict[str, str]) -> None:
    response = await client.post(
        "/api/jobs",
        data=b"{not json",
        headers={**alice_headers, "Content-Type": "application/json"},
    )
    await assert_error(response, 400, "bad_request")


async def test_an_idempotency_key_makes_one_job_from_uploads(
    client: Any, alice_headers: dict[str, str]
) -> None:
    upload = await upload_whole(client, alice_headers, video_bytes(100_000))
    key = {"Idempotency-Key": "make-it-once"}
    first = await make_job(client, alice_headers, {"uploads": [upload]}, **key)
    second = await make_job(client, alice_headers, {"uploads": [upload]}, **key)
    assert first.status == second.status == 202
    assert (await first.json()) == (await second.json())
    pool = client.app[SERVICES].database.pool
    assert await pool.fetchval("SELECT count(*) FROM events") == 1
    # the same key for other uploads is refused, as multipart refuses a reused key
    other = await upload_whole(client, alice_headers, video_bytes(100_000))
    reused = await make_job(client, alice_headers, {"uploads": [other]}, **key)
    await assert_error(reused, 422, "idempotency_key_reused")
