"""The output reaper: an expired job's outputs go, recorded by one OutputsDeleted."""

from __future__ import annotations

from service.bootstrap import Services
from service.events.base import EventMetadata, NewEvent
from service.events.job import Expired, OutputsDeleted
from service.events.store import ANY
from service.reactors.file_reactor import FileReactor, answer_id
from tests.builders import T0
from tests.reactors.builders import events_of, finished_job, head
from tests.reactors.test_upload_purger import passed
from tests.support import eventually, running


async def expire(services: Services, job_id: object) -> None:
    event = Expired(job_id=job_id, reason="retention", expired_at=T0)  # type: ignore[arg-type]
    await services.store.append(
        f"job-{job_id}", [NewEvent.of(event, metadata=EventMetadata(actor="test"))], ANY
    )


async def test_an_expired_jobs_outputs_are_deleted_and_counted(
    services: Services, reaper: FileReactor
) -> None:
    data_dir = services.settings.data_dir
    # Given a completed job with four 700-byte outputs, and another that has not expired
    job = await finished_job(services, output_size=700)
    kept = await finished_job(services)
    # When the first expires and the reaper runs
    await expire(services, job.job_id)
    async with running(reaper):
        await eventually(lambda: events_of(services, job, OutputsDeleted.TYPE))
        target = await head(services)
        await eventually(lambda: passed(reaper, target))
    # Then its outputs and their folder are gone, and one event says how many and how much
    assert not any(p.exists() for p in job.output_paths(data_dir))
    assert not (data_dir / "outputs" / str(job.job_id)).exists()
    [deleted] = await events_of(services, job, OutputsDeleted.TYPE)
    [expired] = await events_of(services, job, Expired.TYPE)
    assert (deleted.event.files, deleted.event.bytes_freed) == (4, 2800)
    assert deleted.event.deleted_at == expired.event.expired_at
    assert deleted.event_id == answer_id(expired.event_id, "outputs-deleted")
    # And the job that has not expired keeps its outputs
    assert all(p.exists() for p in kept.output_paths(data_dir))
    assert await events_of(services, kept, OutputsDeleted.TYPE) == []


async def test_a_redelivered_expiry_deletes_nothing_more_and_appends_nothing_more(
    services: Services, reaper: FileReactor
) -> None:
    # Given an expired job whose outputs were already reaped
    job = await finished_job(services)
    await expire(services, job.job_id)
    assert await reaper.attempt(job.job_id) == ()
    # When the same expiry is handled again
    assert await reaper.attempt(job.job_id) == ()
    # Then there is still one OutputsDeleted
    assert len(await events_of(services, job, OutputsDeleted.TYPE)) == 1
