"""Whether a job's results may be downloaded now, decided from the job view alone."""

from __future__ import annotations

from datetime import datetime

from service.errors import JobExpired, JobNotReady, NoOutputs
from service.projections.job_state import JobState, OutputState

_WHY = {
    "retention": "its retention period ended",
    "storage_pressure": "storage ran short of space",
    "admin": "an administrator expired it",
}


def refuse_if_expired(job: JobState, now: datetime) -> None:
    """410 once the job's results are gone or past their time, before any `Expired` event."""
    if job.status == "expired" or now >= job.expires_at:
        when = job.expired_at or job.expires_at
        reason = _WHY[job.expiry_reason or "retention"]
        raise JobExpired(f"job {job.job_id} expired at {when.isoformat()}: {reason}")


def downloadable_outputs(job: JobState, now: datetime) -> tuple[OutputState, ...]:
    """The outputs to archive, or the reason there are none (410 expired, 404 otherwise).

    A job is expired from the moment `expires_at` passes, before any `Expired` event.
    """
    refuse_if_expired(job, now)
    if job.status in ("received", "processing", "cancelling"):
        raise JobNotReady(f"job {job.job_id} is {job.status}; its results are not ready yet")
    if not job.outputs:
        raise NoOutputs(f"job {job.job_id} is {job.status} with no rendered output")
    return job.outputs
