"""Expire one job: the single way the scheduler and the admin command write `Expired`.

The append expects the version the caller's state was read at, so a race with any
other writer (a worker claiming the job, another expirer) is detected, never doubled.
"""

from __future__ import annotations

from datetime import datetime

from service.errors import JobStillProcessing
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import Expired, ExpiryReason, ProcessingFinished, job_stream
from service.events.store import AppendResult, EventStore
from service.projections.job_state import IN_PROGRESS, JobState

NEVER_STARTED = "expired before processing started"


async def expire_job(
    store: EventStore,
    state: JobState,
    reason: ExpiryReason,
    now: datetime,
    *,
    actor: str,
    request_id: str | None = None,
) -> AppendResult:
    """Append `Expired` at `state.version`; a job never started is first finished as failed.

    Both events go in one append, so no reader sees a failed job that is not yet
    expired. Raises WrongExpectedVersion when the stream moved past `state`.
    """
    if state.status in IN_PROGRESS:
        raise JobStillProcessing(state.job_id)
    events: list[Event] = []
    if state.status == "received":
        events.append(
            ProcessingFinished(
                job_id=state.job_id, outcome="failed", reason=NEVER_STARTED, finished_at=now
            )
        )
    events.append(Expired(job_id=state.job_id, reason=reason, expired_at=now))
    metadata = EventMetadata(correlation_id=str(state.job_id), actor=actor, request_id=request_id)
    return await store.append(
        job_stream(state.job_id),
        [NewEvent.of(e, metadata=metadata) for e in events],
        state.version,
    )
