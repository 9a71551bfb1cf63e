"""`audit verify --objects`: every object the log says exists is stored as recorded.

Each job is folded from the log; its uploads (until `UploadsPurged`) and outputs (until
`OutputsDeleted`) must exist with their recorded size and, when recorded, ETag. The
check asks the store, through the same interface as the service, a few HEADs at a
time. A reactor that deletes an object after the audit's snapshot was taken makes it
look missing: rerun to tell such a race from a loss.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import asyncpg

from service.errors import ObjectNotFound
from service.events.log_reader import Checkpoint
from service.projections.job_state import JobState
from service.projections.replay import replay_jobs
from service.storage.interface import ObjectStorage

HEADS_IN_FLIGHT = 16


@dataclass(frozen=True)
class ObjectProblem:
    job_id: uuid.UUID
    key: str
    reason: str


@dataclass
class ObjectReport:
    objects: int = 0
    problems: list[ObjectProblem] = field(default_factory=list)


def expected_objects(state: JobState) -> list[tuple[str, int, str | None]]:
    """(key, size, ETag) of every object the job should have now."""
    found = []
    if not state.uploads_purged:
        found += [(f.upload_key, f.size, f.upload_etag) for f in state.files]
    if not state.outputs_deleted:
        found += [(o.key, o.size, o.etag) for o in state.outputs]
    return found


async def verify_objects(
    conn: asyncpg.Connection, upto: Checkpoint, storage: ObjectStorage
) -> ObjectReport:
    report = ObjectReport()
    limit = asyncio.Semaphore(HEADS_IN_FLIGHT)

    async def check(job_id: uuid.UUID, key: str, size: int, etag: str | None) -> None:
        async with limit:
            try:
                stored = await storage.head(key)
            except ObjectNotFound:
                report.problems.append(ObjectProblem(job_id, key, "missing"))
                return
        if stored.size != size:
            reason = f"size {stored.size}, the log recorded {size}"
            report.problems.append(ObjectProblem(job_id, key, reason))
        elif etag is not None and stored.etag != etag:
            reason = f"ETag {stored.etag}, the log recorded {etag} (replaced)"
            report.problems.append(ObjectProblem(job_id, key, reason))

    async for job in replay_jobs(conn, upto, prefetch=False):
        if job.state is None:
            continue
        expected = expected_objects(job.state)
        report.objects += len(expected)
        await asyncio.gather(*(check(job.job_id, *item) for item in expected))
    report.problems.sort(key=lambda p: (str(p.job_id), p.key))
    return report
