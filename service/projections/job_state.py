"""How events change a job: a pure fold, `evolve(state, event)` from `initial_state()`.

The job projection, audit replay and the rebuild all call this one function, so there
is a single definition of what a job's history means.
"""

from __future__ import annotations

import bisect
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from service.events.base import RecordedEvent
from service.events.job import (
    CancellationRequested,
    EffectParameters,
    Expired,
    ExpiryReason,
    FileError,
    Outcome,
    OutputsDeleted,
    ProcessingFinished,
    ProcessingStarted,
    Thumbnail,
    UploadReceived,
    UploadsPurged,
    VariationRendered,
    key_from_path,
)

JobStatus = Literal[
    "received", "processing", "cancelling", "completed", "partial", "failed", "cancelled", "expired"
]
FileStatus = Literal["uploaded", "processing", "rendered", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"completed", "partial", "failed", "cancelled"})
IN_PROGRESS: frozenset[str] = frozenset({"processing", "cancelling"})
"""A worker holds (or held, and another will take over) jobs in these states."""


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _upload_key_from_path(data: object) -> object:
    """Job documents written before object storage called the key `upload_path`."""
    if isinstance(data, dict) and "upload_path" in data and "upload_key" not in data:
        data = dict(data)
        data["upload_key"] = data.pop("upload_path")
    return data


class FileState(_State):
    file_id: uuid.UUID
    name: str
    size: int
    sha256: str
    upload_key: str
    upload_etag: str | None = None
    status: FileStatus = "uploaded"
    error: str | None = None
    thumbnail: Thumbnail | None = None

    _legacy = model_validator(mode="before")(_upload_key_from_path)


class OutputState(_State):
    file_id: uuid.UUID
    variation_index: int
    key: str
    etag: str | None = None
    size: int
    crc32: int
    effects: EffectParameters
    rendered_at: datetime
    thumbnail: Thumbnail | None = None

    _legacy = model_validator(mode="before")(key_from_path)


class JobState(_State):
    """Everything the read model knows about one job."""

    job_id: uuid.UUID
    owner_id: uuid.UUID
    status: JobStatus
    outcome: Outcome | None = None
    variations_per_video: int
    created_at: datetime
    expires_at: datetime
    files: tuple[FileState, ...]
    outputs: tuple[OutputState, ...] = ()
    attempt: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    errors: tuple[FileError, ...] = ()
    finish_reason: str | None = None
    cancel_requested_at: datetime | None = None
    cancel_requested_by: str | None = None
    uploads_purged: bool = False
    upload_bytes_freed: int = 0
    expired_at: datetime | None = None
    expiry_reason: ExpiryReason | None = None
    outputs_deleted: bool = False
    output_bytes_freed: int = 0
    version: int
    last_position: int

    def thumbnails(self) -> list[Thumbnail]:
        """Every thumbnail the log records, sources' and outputs'."""
        return [
            t
            for t in (*(f.thumbnail for f in self.files), *(o.thumbnail for o in self.outputs))
            if t is not None
        ]

    def outputs_of(self, file_id: uuid.UUID) -> tuple[OutputState, ...]:
        return tuple(o for o in self.outputs if o.file_id == file_id)

    @property
    def is_finished(self) -> bool:
        return self.outcome is not None


def initial_state() -> JobState | None:
    """Before its first event a job does not exist."""
    return None


def evolve(state: JobState | None, recorded: RecordedEvent) -> JobState | None:
    """The job after `recorded`.

    An event for a job that was never received changes nothing (the job still does not
    exist): a stray event must not wedge every reader of the log behind it.
    """
    event = recorded.event
    stamp = {"version": recorded.version, "last_position": recorded.position}
    if isinstance(event, UploadReceived):
        if state is not None:
            return state.model_copy(update=stamp)
        return JobState(
            job_id=event.job_id,
            owner_id=event.owner_id,
            status="received",
            variations_per_video=event.variations_per_video,
            created_at=event.received_at,
            expires_at=event.expires_at,
            files=tuple(
                FileState(
                    file_id=f.file_id,
                    name=f.name,
                    size=f.size,
                    sha256=f.sha256,
                    upload_key=f.key,
                    upload_etag=f.etag,
                )
                for f in event.files
            ),
            **stamp,
        )
    if state is None:
        return None
    return state.model_copy(update={**_changes(state, event), **stamp})


def _changes(state: JobState, event: object) -> dict[str, object]:
    if isinstance(event, ProcessingStarted):
        # A new claimant of a job whose cancel was asked for finishes it as cancelled.
        keep = state.status in ("expired", "cancelling")
        return {
            "status": state.status if keep else "processing",
            "attempt": event.attempt,
            "started_at": event.started_at,
            "files": tuple(
                f
                if f.status in ("rendered", "failed")
                else f.model_copy(update={"status": "processing"})
                for f in state.files
            ),
        }
    if isinstance(event, VariationRendered):
        return {"outputs": _add_output(state, event), "files": _with_thumbnail(state, event)}
    if isinstance(event, CancellationRequested):
        if state.cancel_requested_at is not None:
            return {}  # the first request is the one that counts
        moving = state.status in ("received", "processing")
        return {
            "status": "cancelling" if moving else state.status,
            "cancel_requested_at": event.requested_at,
            "cancel_requested_by": event.requested_by,
        }
    if isinstance(event, ProcessingFinished):
        failed = {e.file_id: e.message for e in event.errors}
        return {
            "status": event.outcome if state.status != "expired" else state.status,
            "outcome": event.outcome,
            "finished_at": event.finished_at,
            "errors": event.errors,
            "finish_reason": event.reason,
            "files": tuple(_finished_file(state, f, failed, event.outcome) for f in state.files),
        }
    if isinstance(event, UploadsPurged):
        return {"uploads_purged": True, "upload_bytes_freed": event.bytes_freed}
    if isinstance(event, Expired):
        return {"status": "expired", "expired_at": event.expired_at, "expiry_reason": event.reason}
    if isinstance(event, OutputsDeleted):
        return {"outputs_deleted": True, "output_bytes_freed": event.bytes_freed}
    return {}


def _add_output(state: JobState, event: VariationRendered) -> tuple[OutputState, ...]:
    """Outputs in upload order, then variation index; a re-rendered variation keeps its first."""
    order = next((i for i, f in enumerate(state.files) if f.file_id == event.file_id), None)
    if order is None:
        return state.outputs  # not a file of this job: nothing to add
    key = (order, event.variation_index)
    keys = [(_file_order(state, o.file_id), o.variation_index) for o in state.outputs]
    at = bisect.bisect_left(keys, key)
    if at < len(keys) and keys[at] == key:
        return state.outputs
    output = OutputState(
        file_id=event.file_id,
        variation_index=event.variation_index,
        key=event.key,
        etag=event.etag,
        size=event.size,
        crc32=event.crc32,
        effects=event.effects,
        rendered_at=event.rendered_at,
        thumbnail=event.thumbnail,
    )
    return (*state.outputs[:at], output, *state.outputs[at:])


def _with_thumbnail(state: JobState, event: VariationRendered) -> tuple[FileState, ...]:
    """The source's thumbnail, from the first render that carries one."""
    if event.source_thumbnail is None:
        return state.files
    return tuple(
        f.model_copy(update={"thumbnail": event.source_thumbnail})
        if f.file_id == event.file_id and f.thumbnail is None
        else f
        for f in state.files
    )


def _file_order(state: JobState, file_id: uuid.UUID) -> int:
    for i, f in enumerate(state.files):
        if f.file_id == file_id:
            return i
    return len(state.files)


def _finished_file(
    state: JobState, file: FileState, failed: dict[uuid.UUID, str], outcome: Outcome
) -> FileState:
    if file.file_id in failed:
        return file.model_copy(update={"status": "failed", "error": failed[file.file_id]})
    rendered = any(o.file_id == file.file_id for o in state.outputs)
    unrendered: FileStatus = "cancelled" if outcome == "cancelled" else "failed"
    return file.model_copy(update={"status": "rendered" if rendered else unrendered})


def fold(events: list[RecordedEvent]) -> JobState | None:
    """Replay a stream from the beginning."""
    state = initial_state()
    for recorded in events:
        state = evolve(state, recorded)
    return state
