"""A body missing before the first byte: the job view may be behind the log.

The view is a projection. An expiry appended a moment ago may already have had its
files deleted by the reaper while the view still shows the job completed; answering
500 then would be wrong. So before calling a missing body an error, the handler folds
the job's own stream, which is the truth: if the log says the job expired, the answer
is the same 410 a caught-up view gives.
"""

from __future__ import annotations

from datetime import datetime

from service.download.archive import ArchivePlan
from service.download.availability import downloadable_outputs
from service.download.sources import verified_plan
from service.errors import ArchiveSourceChanged
from service.events.job import job_stream
from service.events.store import EventStore
from service.projections.job_state import JobState, fold
from service.storage.interface import ObjectStorage


async def verified_or_expired(
    plan: ArchivePlan, storage: ObjectStorage, store: EventStore, job: JobState, now: datetime
) -> ArchivePlan:
    """`verified_plan(plan)`; when a body is missing, 410 if the log has the job expired."""
    try:
        return await verified_plan(plan, storage, job.job_id)
    except ArchiveSourceChanged:
        latest = fold(await store.read_stream(job_stream(job.job_id)))
        if latest is not None:
            downloadable_outputs(latest, now)  # raises JobExpired when the log says so
        raise
