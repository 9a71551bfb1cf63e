"""The job lifecycle's events, one stream per job (`job-<uuid>`), in the order they occur."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from service.events.base import Event, register

STREAM_PREFIX = "job-"


def job_stream(job_id: uuid.UUID) -> str:
    return f"{STREAM_PREFIX}{job_id}"


def job_id_of(stream_id: str) -> uuid.UUID | None:
    """The job a stream belongs to, or None for streams that are not job streams."""
    if not stream_id.startswith(STREAM_PREFIX):
        return None
    try:
        return uuid.UUID(stream_id[len(STREAM_PREFIX) :])
    except ValueError:
        return None


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredUpload(_Part):
    """One uploaded file as stored on disk; `name` is the user's, `path` is ours."""

    file_id: uuid.UUID
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    path: str = Field(min_length=1, description="Relative to the data directory.")


class EffectParameters(_Part):
    rotation_rad: float
    brightness: float
    contrast: float
    saturation: float


class Thumbnail(_Part):
    """A JPEG of a video's first frame, for the page (issue 12); `sha256` makes its ETag."""

    path: str = Field(min_length=1, description="Relative to the data directory.")
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class FileError(_Part):
    file_id: uuid.UUID
    message: str = Field(max_length=4000)


class PurgedFile(_Part):
    file_id: uuid.UUID
    path: str
    bytes: int = Field(ge=0)


@register
class UploadReceived(Event):
    """The job exists: who owns it, what was uploaded, how many variations of each."""

    TYPE = "UploadReceived"
    job_id: uuid.UUID
    owner_id: uuid.UUID
    variations_per_video: int = Field(ge=1, le=20)
    files: tuple[StoredUpload, ...] = Field(min_length=1)
    received_at: datetime
    expires_at: datetime


@register
class ProcessingStarted(Event):
    """A worker claimed the job; the optimistic append itself is the claim."""

    TYPE = "ProcessingStarted"
    job_id: uuid.UUID
    attempt: int = Field(ge=1)
    worker: str
    started_at: datetime


@register
class VariationRendered(Event):
    """One output exists on disk, with the size and CRC-32 the ZIP needs up front."""

    TYPE = "VariationRendered"
    job_id: uuid.UUID
    file_id: uuid.UUID
    variation_index: int = Field(ge=1, le=20)
    path: str = Field(min_length=1, description="Relative to the data directory.")
    size: int = Field(ge=0)
    crc32: int = Field(ge=0, le=0xFFFFFFFF)
    effects: EffectParameters
    rendered_at: datetime
    # Optional (issue 12), so events recorded before thumbnails existed still validate:
    # this output's thumbnail, and the source's when this render is the first to carry it.
    thumbnail: Thumbnail | None = None
    source_thumbnail: Thumbnail | None = None


@register
class CancellationRequested(Event):
    """Someone asked to stop a job being processed; the worker holding it ends the attempt."""

    TYPE = "CancellationRequested"
    job_id: uuid.UUID
    requested_by: str = Field(min_length=1, max_length=200, description="A user id or 'admin-cli'.")
    requested_at: datetime


Outcome = Literal["completed", "partial", "failed", "cancelled"]


@register
class ProcessingFinished(Event):
    """Rendering ended: all files rendered, some, or none; why files failed."""

    TYPE = "ProcessingFinished"
    job_id: uuid.UUID
    outcome: Outcome
    errors: tuple[FileError, ...] = ()
    reason: str | None = None
    finished_at: datetime


@register
class UploadsPurged(Event):
    """The job's upload files are gone from disk."""

    TYPE = "UploadsPurged"
    job_id: uuid.UUID
    files: tuple[PurgedFile, ...]
    bytes_freed: int = Field(ge=0)
    purged_at: datetime


ExpiryReason = Literal["retention", "storage_pressure", "admin"]


@register
class Expired(Event):
    """The job's results may no longer be downloaded."""

    TYPE = "Expired"
    job_id: uuid.UUID
    reason: ExpiryReason
    expired_at: datetime


@register
class OutputsDeleted(Event):
    """The job's rendered files are gone from disk after expiry."""

    TYPE = "OutputsDeleted"
    job_id: uuid.UUID
    files: int = Field(ge=0)
    bytes_freed: int = Field(ge=0)
    deleted_at: datetime
