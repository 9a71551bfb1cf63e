"""Finished jobs whose outputs are real objects in the configured storage."""

from __future__ import annotations

import hashlib
import os
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from service.bootstrap import Services
from service.events.base import NewEvent
from service.events.job import (
    EffectParameters,
    ProcessingFinished,
    ProcessingStarted,
    StoredUpload,
    UploadReceived,
    VariationRendered,
    job_stream,
)
from service.events.store import NO_STREAM
from service.storage.interface import ObjectStorage, StoredObject
from service.storage.keys import output_key, upload_key

EFFECTS = EffectParameters(rotation_rad=0.002, brightness=0.01, contrast=1.01, saturation=0.99)


@dataclass
class StoredOutput:
    key: str
    content: bytes
    etag: str


async def put_bytes(storage: ObjectStorage, key: str, content: bytes) -> StoredObject:
    async def body() -> AsyncIterator[bytes]:
        yield content

    return await storage.put_stream(key, body())


async def stored_job(
    services: Services, owner_id: uuid.UUID, sizes: list[int], *, name: str = "ad.mp4"
) -> tuple[uuid.UUID, list[StoredOutput]]:
    """One upload (stored) with one rendered output object per size, finished."""
    storage, now = services.storage, services.clock.now()
    job_id, file_id = uuid.uuid4(), uuid.uuid4()
    source = os.urandom(64)
    upload = await put_bytes(storage, upload_key(job_id, file_id, ".mp4"), source)
    received = UploadReceived(
        job_id=job_id, owner_id=owner_id, variations_per_video=len(sizes),
        files=(StoredUpload(file_id=file_id, name=name, size=len(source),
                            sha256=hashlib.sha256(source).hexdigest(), key=upload.key,
                            etag=upload.etag),),
        received_at=now, expires_at=now + timedelta(hours=24),
    )  # fmt: skip
    events: list[object] = [
        received,
        ProcessingStarted(job_id=job_id, attempt=1, worker="test", started_at=now),
    ]
    outputs = []
    for index, size in enumerate(sizes, start=1):
        content = os.urandom(size)
        stored = await put_bytes(storage, output_key(job_id, file_id, index, 1), content)
        outputs.append(StoredOutput(stored.key, content, stored.etag))
        events.append(VariationRendered(
            job_id=job_id, file_id=file_id, variation_index=index, key=stored.key,
            etag=stored.etag, size=size, crc32=zlib.crc32(content), effects=EFFECTS,
            rendered_at=now,
        ))  # fmt: skip
    events.append(ProcessingFinished(job_id=job_id, outcome="completed", finished_at=now))
    result = await services.store.append(
        job_stream(job_id),
        [NewEvent.of(e) for e in events],
        NO_STREAM,  # type: ignore[arg-type]
    )
    assert await services.job_view_waiter.wait_for(result, timeout_s=10)
    return job_id, outputs
