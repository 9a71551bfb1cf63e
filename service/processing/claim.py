"""Claim a job for rendering: the optimistic append of `ProcessingStarted` is the claim.

Called only while holding the job's lease, on the job's own stream (the view may lag):
a received job starts attempt 1; a processing job whose lease was free lost its worker
and starts the next attempt, until MAX_ATTEMPTS have begun, when it is failed instead.
A cancelling job whose worker died is claimed too: that attempt renders nothing and
finishes it as cancelled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from service.events.base import EventMetadata, NewEvent
from service.events.job import ProcessingFinished, ProcessingStarted, job_stream
from service.events.store import EventStore
from service.metrics import catalogue as metrics
from service.projections.job_state import JobState, fold

MAX_ATTEMPTS = 3
"""A job whose worker died this many times is failing workers, not being unlucky."""


@dataclass(frozen=True)
class Claim:
    """A job this worker now renders: its state just after our `ProcessingStarted`."""

    job: JobState
    started_event_id: uuid.UUID

    @property
    def attempt(self) -> int:
        return self.job.attempt


def gave_up_reason(attempts: int) -> str:
    return f"gave up after {attempts} attempts: each one ended without finishing"


async def claim_job(
    store: EventStore, job_id: uuid.UUID, *, worker: str, now: datetime
) -> Claim | None:
    """Append the claim and return it, or None when there is nothing to render.

    Raises WrongExpectedVersion when another writer moved the stream first.
    """
    job = fold(await store.read_stream(job_stream(job_id)))
    if job is None:
        return None
    return await claim_as_of(store, job, worker=worker, now=now)


async def claim_as_of(
    store: EventStore, job: JobState, *, worker: str, now: datetime
) -> Claim | None:
    """Claim `job` as this state shows it; the append fails if the stream moved since."""
    if job.status not in ("received", "processing", "cancelling"):
        return None
    job_id, stream = job.job_id, job_stream(job.job_id)
    metadata = EventMetadata(correlation_id=str(job_id), actor=f"worker {worker}")
    if job.status == "processing" and job.attempt >= MAX_ATTEMPTS:
        failed = ProcessingFinished(
            job_id=job_id, outcome="failed", reason=gave_up_reason(job.attempt), finished_at=now
        )
        await store.append(stream, [NewEvent.of(failed, metadata=metadata)], job.version)
        metrics.JOB_FAILURES.labels("gave_up").inc()
        metrics.JOB_DURATION.labels("failed").observe((now - job.created_at).total_seconds())
        return None
    started = NewEvent.of(
        ProcessingStarted(job_id=job_id, attempt=job.attempt + 1, worker=worker, started_at=now),
        metadata=metadata,
    )
    await store.append(stream, [started], job.version)
    if job.attempt == 0:
        metrics.CLAIM_WAIT.observe((now - job.created_at).total_seconds())
    claimed = fold(await store.read_stream(stream))
    assert claimed is not None
    return Claim(job=claimed, started_event_id=started.event_id)
