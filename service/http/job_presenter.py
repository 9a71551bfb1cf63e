"""How jobs look over HTTP: ids, names, sizes, progress and links; never disk paths."""

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
from service.projections.job_state import JobState, OutputState


def links(job_id: uuid.UUID) -> dict[str, str]:
    base = f"/api/jobs/{job_id}"
    return {
        "self": base,
        "download": f"{base}/download",
        "events": f"{base}/events",
        "cancel": f"{base}/cancel",
    }


def created(event: UploadReceived) -> dict[str, Any]:
    """The 202 answer to an upload."""
    return {
        "job_id": str(event.job_id),
        "status": "received",
        "variations_per_video": event.variations_per_video,
        "files": [{"id": str(f.file_id), "name": f.name, "size": f.size} for f in event.files],
        "links": links(event.job_id),
    }


def sources(job: JobState) -> list[dict[str, Any]]:
    """Each uploaded video as the page lists it: its name (shown as text), status and error."""
    return [
        {
            "id": str(f.file_id),
            "name": f.name,
            "status": f.status,
            "error": f.error,
            "thumbnail": f"/api/jobs/{job.job_id}/files/{f.file_id}/thumbnail"
            if f.thumbnail
            else None,
        }
        for f in job.files
    ]


def summary(job: JobState) -> dict[str, Any]:
    """One row of the job list."""
    rendered = len(job.outputs)
    return {
        "sources": sources(job),
        "outcome": job.outcome,
        "finish_reason": job.finish_reason,
        "expiry_reason": job.expiry_reason,
        "job_id": str(job.job_id),
        "status": job.status,
        "variations_per_video": job.variations_per_video,
        "files": len(job.files),
        "progress": {"rendered": rendered, "requested": job.variations_per_video * len(job.files)},
        "created_at": job.created_at.isoformat(),
        "expires_at": job.expires_at.isoformat(),
        "links": links(job.job_id),
    }


def detail(job: JobState) -> dict[str, Any]:
    """Everything a user may know about one job."""
    return {
        **summary(job),
        "outcome": job.outcome,
        "files": [
            {
                "id": str(f.file_id),
                "name": f.name,
                "size": f.size,
                "sha256": f.sha256,
                "status": f.status,
                "error": f.error,
                "progress": {
                    "rendered": len(job.outputs_of(f.file_id)),
                    "requested": job.variations_per_video,
                },
            }
            for f in job.files
        ],
        "outputs": [
            {
                "file_id": str(o.file_id),
                "variation_index": o.variation_index,
                "size": o.size,
                "crc32": o.crc32,
                "effects": o.effects.model_dump(mode="json"),
                "video": _variation_url(job, o),
                "thumbnail": f"{_variation_url(job, o)}/thumbnail" if o.thumbnail else None,
            }
            for o in job.outputs
        ],
        "failures": [{"file_id": str(e.file_id), "message": e.message} for e in job.errors],
        "finish_reason": job.finish_reason,
        "cancel_requested_at": (
            job.cancel_requested_at.isoformat() if job.cancel_requested_at else None
        ),
        "uploads_purged": job.uploads_purged,
        "expired_at": job.expired_at.isoformat() if job.expired_at else None,
    }


def _variation_url(job: JobState, output: OutputState) -> str:
    return f"/api/jobs/{job.job_id}/outputs/{output.file_id}/{output.variation_index}"


def event_record(recorded: RecordedEvent) -> dict[str, Any]:
    """One entry of a job's history, as an auditor reads it."""
    return {
        "type": recorded.type,
        "version": recorded.version,
        "position": recorded.position,
        "recorded_at": recorded.recorded_at.isoformat(),
        "data": recorded.event.model_dump(mode="json"),
        "metadata": recorded.metadata.model_dump(mode="json", exclude_none=True),
    }


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
