"""The whole job lifecycle with uploads and outputs in SeaweedFS: multipart intake,
render, ZIP download, purge, expiry and eviction — and nothing on the local disk but the
worker's scratch, which is emptied after each job."""

from __future__ import annotations

import io
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any

from service.clock import SystemClock
from service.events.job import UploadsPurged
from service.http.app import create_app
from service.http.keys import SERVICES
from service.projections.job_state import fold
from service.reactors.expire import expire_job
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.clips import TinyClips
from tests.http.upload_support import event_count, field, multipart, video
from tests.storage.test_unavailable import dead_endpoint
from tests.support import eventually


def local_files(data_dir: Path) -> list[Path]:
    """Files under the data dir's uploads, outputs and scratch (pgdata is elsewhere)."""
    return sorted(
        p
        for d in ("uploads", "outputs", "scratch")
        for p in (data_dir / d).rglob("*")
        if p.is_file()
    )


async def test_a_job_lives_and_dies_in_the_bucket(
    aiohttp_client: Any, s3_settings: Settings, tiny_clips: TinyClips
) -> None:
    # Given the service with every role and its files in SeaweedFS, and a signed-in user
    settings = s3_settings.model_copy(update={"role": Role.ALL})
    client = await aiohttp_client(create_app(settings, clock=SystemClock()))
    services = client.app[SERVICES]
    storage = services.storage
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))

    # When she uploads two videos for 2 variations each
    body, content_type = multipart(
        video("summer.mp4", tiny_clips.mp4), video("winter.mov", tiny_clips.mov),
        field("variations", "2"),
    )  # fmt: skip
    created = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    assert created.status == 202, await created.text()
    job_id = uuid.UUID((await created.json())["job_id"])

    # Then the log names each upload by key with the object's ETag, and the bytes are there
    received = (await services.store.read_stream(f"job-{job_id}"))[0].event
    for stored, clip in zip(received.files, (tiny_clips.mp4, tiny_clips.mov), strict=True):
        assert stored.key.startswith(f"uploads/{job_id}/") and stored.etag
        head = await storage.head(stored.key)
        assert (head.size, head.etag) == (clip.stat().st_size, stored.etag)

    # And the worker renders it from the bucket, recording each output's key and ETag
    async def status() -> str:
        job = await services.jobs.get(job_id)
        return job.status if job else ""

    await eventually(lambda: _equals(status(), "completed"), within=120)
    job = await services.jobs.get(job_id)
    assert len(job.outputs) == 4
    for output in job.outputs:
        head = await storage.head(output.key)
        assert (head.size, head.etag) == (output.size, output.etag)

    # And the download is the ZIP of those objects
    response = await client.get(f"/api/jobs/{job_id}/download", headers=headers)
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert [i.CRC for i in archive.infolist()] == [o.crc32 for o in job.outputs]
    assert all(zlib.crc32(archive.read(i)) == i.CRC for i in archive.infolist())

    # And the uploads are purged from the bucket once processing ended
    async def uploads_left() -> list[Any]:
        return await storage.list(f"uploads/{job_id}/")

    await eventually(lambda: _equals(uploads_left(), []), within=30)

    # (and the purge is recorded: the expiry below must follow it in the stream)
    async def purge_recorded() -> bool:
        stream = await services.store.read_stream(f"job-{job_id}")
        return any(isinstance(e.event, UploadsPurged) for e in stream)

    await eventually(purge_recorded, within=30)
    # And nothing was ever kept on this machine's disk (the scratch is emptied)
    assert local_files(settings.data_dir) == []

    # When the job expires, its outputs are deleted from the bucket
    job = fold(await services.store.read_stream(f"job-{job_id}"))  # the view may lag
    await expire_job(services.store, job, "admin", services.clock.now(), actor="test")

    async def outputs_left() -> list[Any]:
        return await storage.list(f"outputs/{job_id}/")

    await eventually(lambda: _equals(outputs_left(), []), within=30)
    assert (await client.get(f"/api/jobs/{job_id}/download", headers=headers)).status == 410


async def test_eviction_by_quota_deletes_the_oldest_jobs_objects(
    aiohttp_client: Any, s3_settings: Settings, tiny_clips: TinyClips
) -> None:
    # Given a bucket quota far below one job's recorded bytes, checked every 0.2 s
    settings = s3_settings.model_copy(
        update={"role": Role.ALL, "storage_quota_bytes": 1, "expiry_interval_s": 0.2}
    )
    client = await aiohttp_client(create_app(settings, clock=SystemClock()))
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    body, content_type = multipart(video("a.mp4", tiny_clips.mp4), field("variations", "1"))
    created = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    job_id = uuid.UUID((await created.json())["job_id"])

    # When it finishes, the scheduler evicts it for storage pressure and its objects go
    async def evicted() -> bool:
        job = await services.jobs.get(job_id)
        return bool(job and job.expiry_reason == "storage_pressure" and job.outputs_deleted)

    await eventually(evicted, within=120)
    assert await services.storage.list(f"outputs/{job_id}/") == []
    assert await services.storage.list(f"uploads/{job_id}/") == []


async def test_an_upload_while_the_bucket_is_down_is_a_503_and_records_nothing(
    aiohttp_client: Any, settings: Settings, tiny_clips: TinyClips
) -> None:
    down = settings.model_copy(
        update={"storage_url": "s3://vr-test/x", "s3_endpoint": dead_endpoint(), "role": Role.API}
    )
    client = await aiohttp_client(create_app(down))
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    body, content_type = multipart(video("a.mp4", tiny_clips.mp4))
    response = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "storage_unavailable"
    assert await event_count(services.database.pool) == 0


async def _equals(awaitable: Any, expected: object) -> bool:
    return await awaitable == expected


async def test_a_job_of_tus_uploads_is_stored_in_the_bucket_and_rendered(
    aiohttp_client: Any, s3_settings: Settings, tiny_clips: TinyClips
) -> None:
    from tests.http.tus_support import upload_whole

    # Given the service on SeaweedFS and a clip sent by tus (staged on this machine's disk)
    settings = s3_settings.model_copy(update={"role": Role.ALL})
    client = await aiohttp_client(create_app(settings, clock=SystemClock()))
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    clip = tiny_clips.mp4.read_bytes()
    upload_id = await upload_whole(client, headers, clip)
    # When a job is made of it
    created = await client.post(
        "/api/jobs", json={"uploads": [upload_id], "variations": 1}, headers=headers
    )
    assert created.status == 202, await created.text()
    job_id = uuid.UUID((await created.json())["job_id"])
    # Then the upload is an object in the bucket, named and ETagged by the log, and the
    # staged tus bytes are gone from the local disk
    [stored] = (await services.store.read_stream(f"job-{job_id}"))[0].event.files
    assert stored.key == f"uploads/{job_id}/{upload_id}.mp4"
    head = await services.storage.head(stored.key)
    assert (head.size, head.etag) == (len(clip), stored.etag)
    assert list(settings.tus_dir.iterdir()) == []

    # And the worker renders it from the bucket
    async def status() -> str:
        job = await services.jobs.get(job_id)
        return job.status if job else ""

    await eventually(lambda: _equals(status(), "completed"), within=120)
    [output] = (await services.jobs.get(job_id)).outputs
    assert (await services.storage.head(output.key)).etag == output.etag
