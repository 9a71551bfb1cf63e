"""Cancel a job: the one way HTTP and the CLI ask a job to stop, and how a worker learns of it.

The decision is made on the job's own stream (the view may lag) and every append expects
the version just read, so a cancel racing a claim, a render or the finish is retried on
the job as it then stands, never doubled. A job not yet claimed ends at once; a job being
processed gets `CancellationRequested` and its worker ends the attempt.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service.errors import JobNotCancellable, NotFound, WrongExpectedVersion
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import CancellationRequested, ProcessingFinished, job_id_of, job_stream
from service.events.store import AppendResult, EventStore
from service.projections.job_state import JobState, fold

ATTEMPTS = 10
"""A processing job's stream moves with every render; a re-read is cheap, so retry often."""
NEVER_STARTED = "cancelled before processing started"
ALREADY = frozenset({"cancelling", "cancelled"})

_CANCELLED_STREAMS = """
SELECT DISTINCT stream_id FROM events
WHERE stream_id = ANY ($1::text[]) AND type = 'CancellationRequested'
"""


@dataclass(frozen=True)
class CancelResult:
    """The job after the request; `appended` is None when it was already cancelled."""

    job: JobState
    appended: AppendResult | None


async def cancel_job(
    store: EventStore,
    job_id: uuid.UUID,
    *,
    requested_by: str,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> CancelResult:
    """Ask the job to stop. Idempotent for a cancelling or cancelled job; NotFound for an
    unknown one; JobNotCancellable (409) for one that has already ended otherwise."""
    stream = job_stream(job_id)
    state: JobState | None = None
    for _ in range(ATTEMPTS):
        events = await store.read_stream(stream)
        state = fold(events)
        if state is None:
            raise NotFound(f"no job {job_id}")
        if state.status in ALREADY:
            return CancelResult(state, None)
        if state.status not in ("received", "processing"):
            raise JobNotCancellable(job_id, state.status)
        asked: list[Event] = [
            CancellationRequested(job_id=job_id, requested_by=requested_by, requested_at=now)
        ]
        if state.status == "received":  # no worker to tell: it ends now
            asked.append(
                ProcessingFinished(
                    job_id=job_id, outcome="cancelled", reason=NEVER_STARTED, finished_at=now
                )
            )
        metadata = EventMetadata(correlation_id=str(job_id), actor=actor, request_id=request_id)
        try:
            appended = await store.append(
                stream, [NewEvent.of(e, metadata=metadata) for e in asked], state.version
            )
        except WrongExpectedVersion:
            continue  # claimed, rendered or finished meanwhile: decide again
        after = fold(await store.read_stream(stream, up_to_version=appended.version))
        assert after is not None
        return CancelResult(after, appended)
    assert state is not None
    raise WrongExpectedVersion(stream, state.version, await store.stream_version(stream))


async def cancelled_jobs(
    conn: asyncpg.Pool | asyncpg.Connection, job_ids: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """Which of `job_ids` the log records a cancel for (the worker asks on every wake)."""
    rows = await conn.fetch(_CANCELLED_STREAMS, [job_stream(j) for j in job_ids])
    found = (job_id_of(r["stream_id"]) for r in rows)
    return [job_id for job_id in found if job_id is not None]
