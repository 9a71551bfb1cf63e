"""Make a job of finished resumable uploads: the same `UploadReceived` as multipart.

One transaction locks the upload rows, appends the job's first event and marks the rows
as taken, so an upload joins at most one job and is never half-taken. The bytes are not
copied: each finished file gets a hard link at `uploads/<job>/<upload-id><ext>`, made
durable before the transaction commits; the tus name is unlinked after. A failure before
the commit removes the links, leaving the uploads as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from service.accounts.principal import Principal
from service.bootstrap import Services
from service.errors import UploadNotUsable
from service.events.append import NO_STREAM, append_batch
from service.events.base import EventMetadata, NewEvent
from service.events.job import StoredUpload, UploadReceived, job_stream
from service.events.store import AppendResult, encode_batch
from service.tus import files, rows
from service.tus.receive import UploadContext
from service.uploads.receive import ReceivedJob

log = logging.getLogger(__name__)

_TAKE = "UPDATE tus_uploads SET job_id = $1 WHERE upload_id = ANY($2::uuid[])"


async def job_from_uploads(
    services: Services,
    ctx: UploadContext,
    principal: Principal,
    upload_ids: list[uuid.UUID],
    *,
    variations: int,
    request_id: str,
) -> ReceivedJob:
    """Create the job and wait (bounded) until the job view shows it. Shielded: a client
    that goes away cannot stop it between the links and the commit."""
    task = asyncio.ensure_future(
        _create(services, ctx, principal, upload_ids, variations, request_id)
    )
    received = await asyncio.shield(task)
    await services.job_view_waiter.wait_for(
        received.appended, services.settings.read_your_writes_timeout_s
    )
    return received


def _check(row: rows.UploadRow | None, upload_id: uuid.UUID, principal: Principal,
           services: Services) -> rows.UploadRow:  # fmt: skip
    if row is None or row.owner_id != principal.user_id:
        raise UploadNotUsable(upload_id, "no such upload", code="unknown_upload", status=400)
    if row.job_id is not None:
        raise UploadNotUsable(upload_id, "it is already in a job", code="upload_in_job")
    if row.expired(services.clock.now()):
        raise UploadNotUsable(upload_id, "it has expired", code="upload_expired")
    if not row.complete or row.sha256 is None or row.extension is None:
        raise UploadNotUsable(
            upload_id, f"only {row.offset} of its {row.length} bytes are in",
            code="upload_incomplete",
        )  # fmt: skip
    return row


async def _create(
    services: Services,
    ctx: UploadContext,
    principal: Principal,
    upload_ids: list[uuid.UUID],
    variations: int,
    request_id: str,
) -> ReceivedJob:
    job_id = uuid.uuid4()
    data_dir = services.settings.data_dir
    job_dir = services.settings.uploads_dir / str(job_id)
    links: list[tuple[Path, Path]] = []
    async with services.database.pool.acquire() as conn:
        try:
            async with conn.transaction():
                found = await rows.get_many(conn, upload_ids, lock=True)
                taken = [_check(found.get(i), i, principal, services) for i in upload_ids]
                links = [(ctx.path(r), job_dir / f"{r.upload_id}{r.extension}") for r in taken]
                await asyncio.to_thread(files.link_into_job, links)
                received_at = services.clock.now()
                event = UploadReceived(
                    job_id=job_id,
                    owner_id=principal.user_id,
                    variations_per_video=variations,
                    files=tuple(
                        StoredUpload(
                            file_id=r.upload_id,
                            name=r.filename,
                            size=r.length,
                            sha256=r.sha256 or "",
                            path=target.relative_to(data_dir).as_posix(),
                        )
                        for r, (_, target) in zip(taken, links, strict=True)
                    ),
                    received_at=received_at,
                    expires_at=received_at + timedelta(seconds=services.settings.retention_s),
                )
                metadata = EventMetadata(
                    correlation_id=str(job_id), actor=principal.username, request_id=request_id
                )
                stream = job_stream(job_id)
                batch = encode_batch(stream, [NewEvent.of(event, metadata=metadata)])
                [(position, version, transaction_id)] = await append_batch(
                    conn, stream, batch, NO_STREAM
                )
                await conn.execute(_TAKE, job_id, upload_ids)
        except BaseException:
            await asyncio.to_thread(files.unlink_all, [target for _, target in links])
            await asyncio.to_thread(_remove_empty, job_dir)
            raise
    services.store.committed_elsewhere()
    await asyncio.to_thread(files.unlink_all, [source for source, _ in links])
    for upload_id in upload_ids:
        ctx.hashes.forget(upload_id)
    log.info("job %s made of %d upload(s)", job_id, len(upload_ids),
             extra={"action": "tus.job_created"})  # fmt: skip
    appended = AppendResult(stream, (position,), transaction_id, version)
    return ReceivedJob(event, appended)


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not empty or never made: nothing of ours is left
        folder.rmdir()
