"""Resumable uploads with the object store in a bucket: the bytes are staged on the local
disk while they arrive, and the job made of them names bucket objects (key, ETag) with
the source's SHA-256; nothing of the upload is left on the local disk."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from service.clock import SystemClock
from service.events.job import UploadReceived
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.http.tus_support import upload_whole, video_bytes


async def test_a_job_of_tus_uploads_names_objects_in_the_bucket(
    aiohttp_client: Any, s3_settings: Settings
) -> None:
    # Given the API with its objects in SeaweedFS, and two finished tus uploads
    settings = s3_settings.model_copy(update={"role": Role.API})
    client = await aiohttp_client(create_app(settings, clock=SystemClock()))
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    sources = [video_bytes(300_000), video_bytes(70_000)]
    ids = [await upload_whole(client, headers, data) for data in sources]
    # When she makes a job of them
    created = await client.post("/api/jobs", json={"uploads": ids}, headers=headers)
    assert created.status == 202, await created.text()
    job_id = uuid.UUID((await created.json())["job_id"])
    # Then each file is an object under the job's key, with the ETag and SHA-256 recorded
    [recorded] = await services.store.read_stream(f"job-{job_id}")
    event = recorded.event
    assert isinstance(event, UploadReceived)
    for stored, upload_id, data in zip(event.files, ids, sources, strict=True):
        assert stored.key == f"uploads/{job_id}/{upload_id}.mp4"
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        head = await services.storage.head(stored.key)
        assert (head.size, head.etag) == (len(data), stored.etag)
        got = await services.storage.get_range(stored.key, 0, len(data), if_match=stored.etag)
        assert got == data
    # And no upload byte stays on the local disk
    assert [p for p in settings.uploads_dir.rglob("*") if p.is_file()] == []
