"""End of life treats `cancelled` like the other outcomes: uploads purged, expired by
retention, evicted under pressure; a job still `cancelling` is never expired by time."""

from __future__ import annotations

from datetime import timedelta

from service.bootstrap import Services
from service.clock import FixedClock
from service.events.job import Expired, UploadsPurged
from service.reactors.file_reactor import FileReactor
from tests.builders import T0, cancellation_requested
from tests.reactors.builders import append, events_of, finished_job, processing_job, project
from tests.reactors.test_expiry import DAY, scheduler, types_of
from tests.support import eventually, running


async def test_a_cancelled_jobs_uploads_are_purged(services: Services, purger: FileReactor) -> None:
    job = await finished_job(services, "cancelled")
    async with running(purger):
        await eventually(lambda: events_of(services, job, UploadsPurged.TYPE))
    assert not any(p.exists() for p in job.upload_paths(services.settings.data_dir))
    # and what it rendered stays until expiry
    assert all(p.exists() for p in job.output_paths(services.settings.data_dir))


async def test_a_cancelled_job_expires_by_retention_and_a_cancelling_one_is_left_alone(
    services: Services,
) -> None:
    cancelled = await finished_job(services, "cancelled")
    cancelling = await processing_job(services)
    await append(services, cancelling, cancellation_requested(cancelling.job_id))
    await project(services)
    result = await scheduler(services, FixedClock(T0 + 2 * DAY)).run_once()
    assert result.expired == [cancelled.job_id]
    [expired] = await events_of(services, cancelled, Expired.TYPE)
    assert expired.event.reason == "retention"
    assert await types_of(services, cancelling) == [
        "UploadReceived",
        "ProcessingStarted",
        "CancellationRequested",
    ]


async def test_storage_pressure_evicts_a_cancelled_job_like_any_finished_one(
    services: Services,
) -> None:
    job = await finished_job(services, "cancelled")
    await project(services)
    clock = FixedClock(T0 + timedelta(hours=1))
    result = await scheduler(services, clock, usage=(900, 1000)).run_once()
    assert result.evicted == [job.job_id]
