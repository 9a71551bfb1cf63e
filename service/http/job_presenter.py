"""How jobs look over HTTP: ids, names, sizes, progress and links; never disk paths.

Each answer is built as its model from `job_models.py` (the shapes the contract
publishes) and handed back as JSON-ready data, so what is sent is what is described.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from service.errors import BadRequest
from service.events.base import RecordedEvent
from service.events.job import UploadReceived
from service.http import job_models as m
from service.projections.job_state import JobState, OutputState


def links(job_id: uuid.UUID) -> dict[str, str]:
    base = f"/api/jobs/{job_id}"
    return {
        "self": base,
        "download": f"{base}/download",
        "events": f"{base}/events",
        "cancel": f"{base}/cancel",
        "live": f"{base}/live",
    }


def _json(model: m.BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def created(event: UploadReceived) -> dict[str, Any]:
    """The 202 answer to an upload."""
    return _json(
        m.JobCreated(
            job_id=event.job_id,
            status="received",
            variations_per_video=event.variations_per_video,
            files=[m.CreatedFile(id=f.file_id, name=f.name, size=f.size) for f in event.files],
            links=m.JobLinks(**links(event.job_id)),
        )
    )


def _sources(job: JobState) -> list[m.Source]:
    return [
        m.Source(
            id=f.file_id,
            name=f.name,
            status=f.status,
            error=f.error,
            thumbnail=f"/api/jobs/{job.job_id}/files/{f.file_id}/thumbnail"
            if f.thumbnail
            else None,
        )
        for f in job.files
    ]


def _variation_url(job: JobState, output: OutputState) -> str:
    return f"/api/jobs/{job.job_id}/outputs/{output.file_id}/{output.variation_index}"


def _summary(job: JobState, owner: str | None = None) -> m.JobSummary:
    return m.JobSummary(
        job_id=job.job_id,
        status=job.status,
        variations_per_video=job.variations_per_video,
        files=len(job.files),
        progress=m.Progress(
            rendered=len(job.outputs), requested=job.variations_per_video * len(job.files)
        ),
        created_at=job.created_at,
        expires_at=job.expires_at,
        links=m.JobLinks(**links(job.job_id)),
        sources=_sources(job),
        outcome=job.outcome,
        finish_reason=job.finish_reason,
        expiry_reason=job.expiry_reason,
        owner=owner,
    )


def summary(job: JobState) -> dict[str, Any]:
    """One row of the job list."""
    return _json(_summary(job))


def job_list(
    jobs: list[JobState], next_cursor: str | None, owners: dict[uuid.UUID, str] | None = None
) -> dict[str, Any]:
    """A page of jobs; `owners` (for admins) names each job's owner."""
    rows = [_summary(j, (owners or {}).get(j.owner_id)) for j in jobs]
    return _json(m.JobList(jobs=rows, next_cursor=next_cursor))


def detail(job: JobState) -> dict[str, Any]:
    """Everything a user may know about one job."""
    return _json(
        m.JobDetail(
            **_summary(job).model_dump(exclude={"files"}, by_alias=True),
            files=[
                m.FileDetail(
                    id=f.file_id,
                    name=f.name,
                    size=f.size,
                    sha256=f.sha256,
                    status=f.status,
                    error=f.error,
                    progress=m.Progress(
                        rendered=len(job.outputs_of(f.file_id)),
                        requested=job.variations_per_video,
                    ),
                )
                for f in job.files
            ],
            outputs=[
                m.OutputDetail(
                    file_id=o.file_id,
                    variation_index=o.variation_index,
                    size=o.size,
                    crc32=o.crc32,
                    effects=o.effects,
                    download=_variation_url(job, o),
                    thumbnail=f"{_variation_url(job, o)}/thumbnail" if o.thumbnail else None,
                )
                for o in job.outputs
            ],
            failures=[m.Failure(file_id=e.file_id, message=e.message) for e in job.errors],
            cancel_requested_at=job.cancel_requested_at,
            uploads_purged=job.uploads_purged,
            expired_at=job.expired_at,
        )
    )


def _event_record(recorded: RecordedEvent) -> m.EventRecord:
    return m.EventRecord(
        type=recorded.type,
        version=recorded.version,
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        data=recorded.event.model_dump(mode="json"),
        metadata=recorded.metadata.model_dump(mode="json", exclude_none=True),
    )


def event_record(recorded: RecordedEvent) -> dict[str, Any]:
    """One entry of a job's history, as an auditor reads it."""
    return _json(_event_record(recorded))


def history(job_id: uuid.UUID, events: list[RecordedEvent]) -> dict[str, Any]:
    return _json(m.JobHistory(job_id=job_id, events=[_event_record(e) for e in events]))


def encode_cursor(job: JobState) -> str:
    """Opaque to clients: where the next page starts (created_at, job_id of the last row)."""
    raw = json.dumps([job.created_at.isoformat(), str(job.job_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, job_id = json.loads(raw)
        parsed = datetime.fromisoformat(created_at), uuid.UUID(job_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("cursor is not one this service handed out", field="cursor") from None
    if parsed[0].tzinfo is None:
        raise BadRequest("cursor is not one this service handed out", field="cursor")
    return parsed
