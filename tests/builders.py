"""Builders for valid events, so each test states only what it cares about."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from service.events.base import EventMetadata, NewEvent
from service.events.job import (
    CancellationRequested,
    EffectParameters,
    Expired,
    ExpiryReason,
    Outcome,
    OutputsDeleted,
    ProcessingFinished,
    ProcessingStarted,
    PurgedFile,
    StoredUpload,
    UploadReceived,
    UploadsPurged,
    VariationRendered,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def upload_received(
    job_id: uuid.UUID | None = None,
    *,
    owner_id: uuid.UUID | None = None,
    names: tuple[str, ...] = ("a.mp4", "b.mov"),
    variations: int = 3,
    received_at: datetime = T0,
    retention: timedelta = timedelta(hours=24),
) -> UploadReceived:
    job_id = job_id or uuid.uuid4()
    files = []
    for name in names:
        file_id = uuid.uuid4()
        files.append(
            StoredUpload(
                file_id=file_id,
                name=name,
                size=1000,
                sha256=hashlib.sha256(name.encode()).hexdigest(),
                key=f"uploads/{job_id}/{file_id}.mp4",
            )
        )
    return UploadReceived(
        job_id=job_id,
        owner_id=owner_id or uuid.uuid4(),
        variations_per_video=variations,
        files=tuple(files),
        received_at=received_at,
        expires_at=received_at + retention,
    )


def processing_started(job_id: uuid.UUID, attempt: int = 1) -> ProcessingStarted:
    return ProcessingStarted(job_id=job_id, attempt=attempt, worker="test", started_at=T0)


def variation_rendered(
    job_id: uuid.UUID, file_id: uuid.UUID, index: int, *, size: int = 100, crc32: int = 1
) -> VariationRendered:
    return VariationRendered(
        job_id=job_id,
        file_id=file_id,
        variation_index=index,
        key=f"outputs/{job_id}/{file_id}/{index:02d}.mp4",
        size=size,
        crc32=crc32,
        effects=EffectParameters(
            rotation_rad=0.001 * index, brightness=0.0, contrast=1.0, saturation=1.0
        ),
        rendered_at=T0,
    )


def processing_finished(job_id: uuid.UUID, outcome: Outcome = "completed") -> ProcessingFinished:
    return ProcessingFinished(job_id=job_id, outcome=outcome, finished_at=T0)


def expired(job_id: uuid.UUID, reason: ExpiryReason = "retention") -> Expired:
    return Expired(job_id=job_id, reason=reason, expired_at=T0)


def new(event: object, **kwargs: object) -> NewEvent:
    return NewEvent.of(event, metadata=EventMetadata(actor="test"), **kwargs)  # type: ignore[arg-type]


def uploads_purged(received: UploadReceived) -> UploadsPurged:
    """Every upload of the job deleted, with the sizes recorded at intake."""
    return UploadsPurged(
        job_id=received.job_id,
        files=tuple(PurgedFile(file_id=f.file_id, key=f.key, bytes=f.size) for f in received.files),
        bytes_freed=sum(f.size for f in received.files),
        purged_at=T0,
    )


def outputs_deleted(job_id: uuid.UUID, files: int, bytes_freed: int) -> OutputsDeleted:
    return OutputsDeleted(job_id=job_id, files=files, bytes_freed=bytes_freed, deleted_at=T0)


def cancellation_requested(job_id: uuid.UUID, by: str = "test") -> CancellationRequested:
    return CancellationRequested(job_id=job_id, requested_by=by, requested_at=T0)
