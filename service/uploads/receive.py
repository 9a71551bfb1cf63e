"""Receive a job: stream the upload to storage, then record `UploadReceived`; nothing is
left behind unless the event is in the log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import MultipartReader

from service.accounts.principal import Principal
from service.bootstrap import Services
from service.db.unavailable import outcome_unknown
from service.events.base import EventMetadata, NewEvent
from service.events.job import StoredUpload, UploadReceived, job_stream
from service.events.store import NO_STREAM, AppendResult
from service.uploads.intake import UploadIntake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedJob:
    event: UploadReceived
    appended: AppendResult


async def receive_job(
    services: Services,
    principal: Principal,
    reader: MultipartReader,
    *,
    content_length: int | None,
    request_id: str,
) -> ReceivedJob:
    """Store the files and append `UploadReceived`; on any failure (including the client
    going away) delete the objects, so a job's files exist only if the log names them."""
    job_id = uuid.uuid4()
    intake = UploadIntake(services.settings, services.storage, job_id)
    append: asyncio.Future[AppendResult] | None = None
    try:
        await intake.check_space(content_length)
        upload = await intake.read(reader)
        received_at = services.clock.now()
        event = UploadReceived(
            job_id=job_id,
            owner_id=principal.user_id,
            variations_per_video=upload.variations,
            files=tuple(
                StoredUpload(
                    file_id=f.file_id,
                    name=f.name,
                    size=f.size,
                    sha256=f.sha256,
                    key=f.key,
                    etag=f.etag,
                )
                for f in upload.files
            ),
            received_at=received_at,
            expires_at=received_at + timedelta(seconds=services.settings.retention_s),
        )
        metadata = EventMetadata(
            correlation_id=str(job_id), actor=principal.username, request_id=request_id
        )
        append = asyncio.ensure_future(
            services.store.append(
                job_stream(job_id), [NewEvent.of(event, metadata=metadata)], NO_STREAM
            )
        )
        appended = await asyncio.shield(append)
    except BaseException as exc:
        if append is not None and not append.done():
            # Cancelled while the append runs: its outcome decides whether the files stay.
            append.add_done_callback(lambda task: _discard_unless_recorded(task, intake))
        elif append is not None and outcome_unknown(exc):
            # The append's outcome is unknown (the server may have committed before it went
            # away): the files stay; if no event names them the orphan sweeper deletes them.
            log.warning("job %s: database gone during the append; outcome unknown", job_id,
                        extra={"action": "uploads.append_outcome_unknown"})  # fmt: skip
        else:
            await intake.discard()
        raise
    await services.job_view_waiter.wait_for(appended, services.settings.read_your_writes_timeout_s)
    return ReceivedJob(event, appended)


_discards: set[asyncio.Future[None]] = set()  # keeps late clean-ups alive until done


def _discard_unless_recorded(task: asyncio.Future[AppendResult], intake: UploadIntake) -> None:
    error = None if task.cancelled() else task.exception()
    if task.cancelled() or (error is not None and not outcome_unknown(error)):
        discard = asyncio.ensure_future(intake.discard())
        _discards.add(discard)
        discard.add_done_callback(_discards.discard)
