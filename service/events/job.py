"""The job lifecycle's events, one stream per job (`job-<uuid>`), in the order they occur."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


ETAG_PATTERN = r'^(W/)?"[\x21\x23-\x7e]*"$'  # a quoted entity tag, as HTTP and S3 give it


def key_from_path(data: object) -> object:
    """Schema 1 named an object by `path`, relative to the data directory: the same text
    as its key today (storage/keys.py), so old events read as if they said `key`."""
    if isinstance(data, dict) and "path" in data and "key" not in data:
        data = dict(data)
        data["key"] = data.pop("path")
    return data


class StoredUpload(_Part):
    """One uploaded file as stored; `name` is the user's, `key` is ours (the object's key
    in storage), `etag` the stored object's (None in events from before object storage)."""

    file_id: uuid.UUID
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    key: str = Field(min_length=1, description="The object's key: uploads/<job>/<file><ext>.")
    etag: str | None = Field(default=None, pattern=ETAG_PATTERN)

    _legacy = model_validator(mode="before")(key_from_path)


class EffectParameters(_Part):
    rotation_rad: float
    brightness: float
    contrast: float
    saturation: float


class Thumbnail(_Part):
    """A JPEG of a video's frame, for the page (issue 12): the object's key and ETag in
    storage, and its size and SHA-256 (which makes the HTTP ETag)."""

    key: str = Field(min_length=1, description="outputs/<job>/<file>/….jpg")
    etag: str | None = Field(default=None, pattern=ETAG_PATTERN)
    size: int = Field(ge=0)
    sha256: str = Field(pattern="^[0-9a-f]{64}$")


class FileError(_Part):
    file_id: uuid.UUID
    message: str = Field(max_length=4000)


class PurgedFile(_Part):
    file_id: uuid.UUID
    key: str
    bytes: int = Field(ge=0)

    _legacy = model_validator(mode="before")(key_from_path)


@register
class UploadReceived(Event):
    """The job exists: who owns it, what was uploaded, how many variations of each."""

    TYPE = "UploadReceived"
    SCHEMA_VERSION = 2  # 2: files name objects by `key` (was `path`) and record their ETag
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
    """One output is stored, with the size and CRC-32 the ZIP needs up front and the ETag
    every later read of it must match."""

    TYPE = "VariationRendered"
    SCHEMA_VERSION = 2  # 2: `key` (was `path`) and `etag`
    job_id: uuid.UUID
    file_id: uuid.UUID
    variation_index: int = Field(ge=1, le=20)
    key: str = Field(min_length=1, description="The object's key: outputs/<job>/<file>/….")
    etag: str | None = Field(default=None, pattern=ETAG_PATTERN)
    size: int = Field(ge=0)
    crc32: int = Field(ge=0, le=0xFFFFFFFF)
    effects: EffectParameters
    rendered_at: datetime
    # Optional (issue 12), so events recorded before thumbnails existed still validate:
    # this output's thumbnail, and the source's when this render is the first to carry it.
    thumbnail: Thumbnail | None = None
    source_thumbnail: Thumbnail | None = None

    _legacy = model_validator(mode="before")(key_from_path)


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
    """The job's upload objects are deleted."""

    TYPE = "UploadsPurged"
    SCHEMA_VERSION = 2  # 2: each file's `key` (was `path`)
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
    """The job's rendered objects are deleted after expiry."""

    TYPE = "OutputsDeleted"
    job_id: uuid.UUID
    files: int = Field(ge=0)
    bytes_freed: int = Field(ge=0)
    deleted_at: datetime
