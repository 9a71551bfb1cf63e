"""How a job's history reads to an auditor: one line per event with the facts it changed,
then the state folded from those events; or the same as JSON for tools."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from service.events.base import RecordedEvent
from service.events.job import (
    CancellationRequested,
    Expired,
    OutputsDeleted,
    ProcessingFinished,
    ProcessingStarted,
    UploadReceived,
    UploadsPurged,
    VariationRendered,
)
from service.projections.job_state import JobState


def when(moment: datetime | None) -> str:
    """UTC to the millisecond: enough to order a history, short enough to scan."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _name(before: JobState | None, file_id: uuid.UUID) -> str:
    """The uploader's file name when the job is known, else the file id."""
    for f in before.files if before is not None else ():
        if f.file_id == file_id:
            return f.name
    return str(file_id)


def facts(recorded: RecordedEvent, before: JobState | None = None) -> str:
    """What the event changed, in words. `before` (the job until then) supplies file names."""
    e = recorded.event
    if isinstance(e, UploadReceived):
        files = ", ".join(f"{f.name} ({f.size:,} B)" for f in e.files)
        return (
            f"owner {e.owner_id}; {len(e.files)} file(s): {files}; "
            f"{e.variations_per_video} variation(s) each; expires {when(e.expires_at)}"
        )
    if isinstance(e, ProcessingStarted):
        return f"attempt {e.attempt} by {e.worker}"
    if isinstance(e, VariationRendered):
        return (
            f"{_name(before, e.file_id)} variation {e.variation_index}: {e.size:,} B, "
            f"crc32 {e.crc32:08x}, {e.key}" + (f" etag {e.etag}" if e.etag else "")
        )
    if isinstance(e, CancellationRequested):
        return f"requested by {e.requested_by}"
    if isinstance(e, ProcessingFinished):
        text = f"outcome {e.outcome}"
        if e.reason:
            text += f" ({e.reason})"
        failures = "; ".join(f"{_name(before, f.file_id)}: {f.message}" for f in e.errors)
        return text + (f"; failed: {failures}" if failures else "")
    if isinstance(e, UploadsPurged):
        return f"{len(e.files)} upload(s) deleted, {e.bytes_freed:,} B freed"
    if isinstance(e, Expired):
        return f"reason {e.reason}"
    if isinstance(e, OutputsDeleted):
        return f"{e.files} output(s) deleted, {e.bytes_freed:,} B freed"
    return e.model_dump_json()  # a type this module does not know yet: show it whole


def event_line(
    recorded: RecordedEvent, before: JobState | None = None, *, with_stream: bool = False
) -> str:
    """`#position  time  [stream]  type  actor  facts` on one line."""
    actor = recorded.metadata.actor or "-"
    stream = f"  {recorded.stream_id}" if with_stream else ""
    return (
        f"#{recorded.position:<8} {when(recorded.recorded_at)}{stream}  {recorded.type:<19}"
        f"{actor:<16} {facts(recorded, before)}"
    )


def event_json(recorded: RecordedEvent) -> dict[str, Any]:
    """Everything stored about the event, for tools (`--json`)."""
    return {
        "position": recorded.position,
        "transaction_id": recorded.transaction_id,
        "stream_id": recorded.stream_id,
        "version": recorded.version,
        "event_id": str(recorded.event_id),
        "type": recorded.type,
        "schema_version": recorded.schema_version,
        "recorded_at": recorded.recorded_at.isoformat(),
        "metadata": recorded.metadata.model_dump(mode="json", exclude_none=True),
        "data": recorded.event.model_dump(mode="json"),
    }


def state_lines(state: JobState) -> list[str]:
    """The folded job, one fact per line."""
    shown = state.outcome and state.outcome != state.status
    outcome = f" (outcome {state.outcome})" if shown else ""
    lines = [
        f"state at version {state.version} (position {state.last_position}):",
        f"  status      {state.status}{outcome}",
        f"  owner       {state.owner_id}",
        f"  created     {when(state.created_at)}, expires {when(state.expires_at)}",
        f"  variations  {state.variations_per_video} per video",
    ]
    for f in state.files:
        error = f": {f.error}" if f.error else ""
        rendered = len(state.outputs_of(f.file_id))
        lines.append(
            f"  file        {f.name} ({f.size:,} B) {f.status}, {rendered} output(s){error}"
        )
    lines.append(f"  outputs     {len(state.outputs)} ({sum(o.size for o in state.outputs):,} B)")
    if state.attempt:
        lines.append(
            f"  processing  attempt {state.attempt}, started {when(state.started_at)}, "
            f"finished {when(state.finished_at)}"
        )
    if state.cancel_requested_at is not None:
        lines.append(
            f"  cancel      requested {when(state.cancel_requested_at)}"
            f" by {state.cancel_requested_by}"
        )
    if state.finish_reason:
        lines.append(f"  reason      {state.finish_reason}")
    if state.uploads_purged:
        lines.append(f"  uploads     purged, {state.upload_bytes_freed:,} B freed")
    if state.expired_at is not None:
        lines.append(f"  expired     {when(state.expired_at)} ({state.expiry_reason})")
    if state.outputs_deleted:
        lines.append(f"  outputs     deleted, {state.output_bytes_freed:,} B freed")
    return lines
