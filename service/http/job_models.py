"""The shapes of job answers: the models the handlers answer with and the contract
(`service/contract/`) describes; the presenter fills them from the job view."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field

from service.contract.types import Timestamp
from service.events.job import EffectParameters, ExpiryReason, Outcome
from service.projections.job_state import FileStatus, JobStatus


class JobPath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id (an unknown or unreadable id is 404).")


class JobListQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100, description="Jobs per page.")
    cursor: str | None = Field(
        default=None, description="`next_cursor` of the previous page; opaque."
    )


class JobLinks(BaseModel):
    self_: str = Field(alias="self")
    download: str
    events: str
    cancel: str
    live: str  # issue 10: the job's event stream


class Progress(BaseModel):
    rendered: int = Field(ge=0)
    requested: int = Field(ge=0)


class CreatedFile(BaseModel):
    id: uuid.UUID
    name: str
    size: int = Field(ge=0)


class JobCreated(BaseModel):
    """The job was received; it will be rendered."""

    job_id: uuid.UUID
    status: JobStatus
    variations_per_video: int = Field(ge=1, le=20)
    files: list[CreatedFile]
    links: JobLinks


class Source(BaseModel):
    """One uploaded video as the page lists it (issue 12); `name` is the user's, shown as text."""

    id: uuid.UUID
    name: str
    status: FileStatus
    error: str | None
    thumbnail: str | None = Field(description="URL of its first frame as a JPEG, once made.")


class JobSummary(BaseModel):
    """One row of the job list."""

    job_id: uuid.UUID
    status: JobStatus
    variations_per_video: int = Field(ge=1, le=20)
    files: int = Field(ge=1, description="How many videos the job has.")
    progress: Progress
    created_at: Timestamp
    expires_at: Timestamp
    links: JobLinks
    # issue 12: what the page shows in a list row
    sources: list[Source]
    outcome: Outcome | None
    finish_reason: str | None
    expiry_reason: ExpiryReason | None
    owner: str | None = Field(
        default=None, description="The owner's username; only in an admin's list."
    )


class JobList(BaseModel):
    """The caller's jobs (an admin's: everyone's), newest first."""

    jobs: list[JobSummary]
    next_cursor: str | None


class FileDetail(BaseModel):
    id: uuid.UUID
    name: str
    size: int = Field(ge=0)
    sha256: str
    status: FileStatus
    error: str | None
    progress: Progress


class OutputDetail(BaseModel):
    file_id: uuid.UUID
    variation_index: int = Field(ge=1)
    size: int = Field(ge=0)
    crc32: int = Field(ge=0)
    effects: EffectParameters
    download: str = Field(
        description="This variation alone (`video/mp4`, byte ranges), named as in the ZIP."
    )
    thumbnail: str | None = Field(description="URL of its frame as a JPEG, once made.")


class Failure(BaseModel):
    file_id: uuid.UUID
    message: str


class JobDetail(BaseModel):
    """Everything the caller may know about one job."""

    job_id: uuid.UUID
    status: JobStatus
    variations_per_video: int = Field(ge=1, le=20)
    files: list[FileDetail]
    progress: Progress
    created_at: Timestamp
    expires_at: Timestamp
    links: JobLinks
    sources: list[Source]
    expiry_reason: ExpiryReason | None
    owner: str | None = None
    outcome: Outcome | None
    outputs: list[OutputDetail]
    failures: list[Failure]
    finish_reason: str | None
    cancel_requested_at: Timestamp | None
    uploads_purged: bool
    expired_at: Timestamp | None


class EventRecord(BaseModel):
    type: str = Field(description="The event's type, e.g. `UploadReceived`.")
    version: int = Field(ge=1, description="Its place in the job's stream.")
    position: int = Field(ge=1, description="Its place in the whole log.")
    recorded_at: Timestamp
    data: dict[str, Any]
    metadata: dict[str, Any]


class JobHistory(BaseModel):
    """A job's history, oldest event first."""

    job_id: uuid.UUID
    events: list[EventRecord]
