"""Make a job of finished resumable uploads: the same `UploadReceived` as multipart.

One transaction locks the upload rows, appends the job's first event and marks the rows
as taken, so an upload joins at most one job and is never half-taken. Each finished file
is handed to the object store under `uploads/<job>/<upload-id><ext>` through a second
name (a hard link): on the local disk the store renames it into place, so no byte is
copied; a bucket uploads it. The tus name is unlinked once the transaction commits; a
failure before deletes the stored objects, leaving the uploads as they were.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from service.accounts.principal import Principal
from service.bootstrap import Services
from service.db.unavailable import outcome_unknown
from service.errors import UploadNotUsable
from service.events.append import NO_STREAM, append_batch
from service.events.base import EventMetadata, NewEvent
from service.events.job import StoredUpload, UploadReceived, job_stream
from service.events.store import AppendResult, encode_batch
from service.storage.keys import upload_key
from service.tus import files, rows
from service.tus.context import UploadContext
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
    staged: list[Path] = []
    keys: list[str] = []
    sources: list[Path] = []
    async with services.database.pool.acquire() as conn:
        try:
            async with conn.transaction():
                found = await rows.get_many(conn, upload_ids, lock=True)
                taken = [_check(found.get(i), i, principal, services) for i in upload_ids]
                stored = []
                for row in taken:
                    sources.append(ctx.path(row))
                    staged.append(await asyncio.to_thread(files.stage, ctx.path(row)))
                    key = upload_key(job_id, row.upload_id, row.extension or "")
                    obj = await services.storage.put_file(key, staged[-1])
                    keys.append(key)
                    stored.append(
                        StoredUpload(
                            file_id=row.upload_id,
                            name=row.filename,
                            size=row.length,
                            sha256=row.sha256 or "",
                            key=key,
                            etag=obj.etag,
                        )
                    )
                received_at = services.clock.now()
                event = UploadReceived(
                    job_id=job_id,
                    owner_id=principal.user_id,
                    variations_per_video=variations,
                    files=tuple(stored),
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
        except BaseException as exc:
            if outcome_unknown(exc):
                # The commit's outcome is unknown (the server may have committed before it
                # went away): the objects stay, and if no job names them the orphan
                # sweeper deletes them later (issue 16).
                log.warning("job %s: database gone during creation; outcome unknown", job_id,
                            extra={"action": "tus.job_outcome_unknown"})  # fmt: skip
                raise
            await asyncio.shield(_undo(services, keys, staged))
            raise
    services.store.committed_elsewhere()
    await asyncio.to_thread(files.unlink_all, staged + sources)
    for upload_id in upload_ids:
        ctx.hashes.forget(upload_id)
    log.info("job %s made of %d upload(s)", job_id, len(upload_ids),
             extra={"action": "tus.job_created"})  # fmt: skip
    appended = AppendResult(stream, (position,), transaction_id, version)
    return ReceivedJob(event, appended)


async def _undo(services: Services, keys: list[str], staged: list[Path]) -> None:
    """Before the commit: the stored objects go, the uploads stay as they were."""
    try:
        if keys:
            await services.storage.delete(keys)
    finally:
        await asyncio.to_thread(files.unlink_all, staged)
