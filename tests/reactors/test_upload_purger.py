"""The upload purger: uploads go once processing has finished, exactly one UploadsPurged
whatever crashes in between, and one undeletable file holds up nobody else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from service.bootstrap import Services
from service.events.base import RecordedEvent
from service.events.job import ProcessingFinished, UploadsPurged
from service.events.log_reader import Checkpoint
from service.projections import checkpoints
from service.reactors.file_reactor import FileReactor, answer_id
from service.reactors.upload_purger import NAME, UploadPurge
from tests.reactors.builders import (
    events_of,
    finished_job,
    head,
    processing_job,
    project,
    received_job,
    undeletable,
)
from tests.reactors.conftest import file_reactor
from tests.support import eventually, running


def passed(reactor: FileReactor, target: Checkpoint) -> bool:
    """The reactor's subscription has handled everything up to `target`."""
    return reactor.runner.checkpoint is not None and reactor.runner.checkpoint >= target


async def purged_count(services: Services, job: Any) -> int:
    return len(await events_of(services, job, UploadsPurged.TYPE))


@pytest.mark.parametrize("outcome", ["completed", "partial", "failed"])
async def test_uploads_are_purged_once_processing_finishes_whatever_the_outcome(
    services: Services, purger: FileReactor, outcome: str
) -> None:
    # Given a finished job whose uploads are real files
    job = await finished_job(services, outcome, sizes=(1000, 2345))  # type: ignore[arg-type]
    data_dir = services.settings.data_dir
    assert all(p.exists() for p in job.upload_paths(data_dir))
    # When the purger runs
    async with running(purger):
        await eventually(lambda: purged_count(services, job))
    # Then the files and their folder are gone, and one UploadsPurged says what and how much
    assert not any(p.exists() for p in job.upload_paths(data_dir))
    assert not (data_dir / "uploads" / str(job.job_id)).exists()
    [purged] = await events_of(services, job, UploadsPurged.TYPE)
    [finished] = await events_of(services, job, ProcessingFinished.TYPE)
    assert purged.event.bytes_freed == 3345
    assert [(f.file_id, f.key, f.bytes) for f in purged.event.files] == [
        (f.file_id, f.key, f.size) for f in job.received.files
    ]
    assert purged.event.purged_at == finished.event.finished_at
    assert purged.event_id == answer_id(finished.event_id, "uploads-purged")
    assert purged.metadata.causation_id == str(finished.event_id)
    # And the outputs are untouched: they live until expiry
    assert all(p.exists() for p in job.output_paths(data_dir))


async def test_uploads_of_unfinished_jobs_are_never_touched(
    services: Services, purger: FileReactor
) -> None:
    # Given a received job and a processing job, and one finished job behind them
    waiting = await received_job(services)
    working = await processing_job(services)
    done = await finished_job(services)
    await project(services)
    # When the purger has handled the whole log (and swept the view)
    async with running(purger):
        await eventually(lambda: purged_count(services, done))
        target = await head(services)
        await eventually(lambda: passed(purger, target))
    # Then only the finished job's uploads went
    data_dir = services.settings.data_dir
    for job in (waiting, working):
        assert all(p.exists() for p in job.upload_paths(data_dir))
        assert await purged_count(services, job) == 0


class CrashBeforeAppend(UploadPurge):
    """Deletes for real, then dies where the answering event would be built."""

    def answer(self, *args: Any) -> Any:
        raise RuntimeError("crash between delete and append")


class CrashAfterHandling(FileReactor):
    """Runs the real handler (delete and append), then dies before the checkpoint."""

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        await super().handle(conn, events)
        raise RuntimeError("crash between append and checkpoint")


async def test_a_crash_between_delete_and_append_still_ends_with_one_uploads_purged(
    services: Services,
) -> None:
    # Given a finished job, and a purger that dies after deleting, before appending
    job = await finished_job(services)
    data_dir = services.settings.data_dir
    crashing = file_reactor(services, CrashBeforeAppend())
    async with running(crashing):
        await eventually(lambda: not any(p.exists() for p in job.upload_paths(data_dir)))
        await asyncio.sleep(0.2)  # several redeliveries, all dying the same way
    # Then the files are gone but nothing was recorded and the checkpoint did not move
    assert await purged_count(services, job) == 0
    assert (await checkpoints.peek(services.database.pool, NAME)) == Checkpoint()
    # When a healthy purger restarts from the checkpoint
    restarted = file_reactor(services, UploadPurge())
    async with running(restarted):
        target = await head(services)
        await eventually(lambda: passed(restarted, target))
    # Then the already-missing files count as purged: exactly one event, full byte count
    [purged] = await events_of(services, job, UploadsPurged.TYPE)
    assert purged.event.bytes_freed == sum(f.size for f in job.received.files)


async def test_a_crash_between_append_and_checkpoint_still_ends_with_one_uploads_purged(
    services: Services,
) -> None:
    # Given a purger that appends UploadsPurged, then dies before storing its checkpoint
    job = await finished_job(services)
    crashing = CrashAfterHandling(
        UploadPurge(),
        store=services.store,
        database=services.database,
        storage=services.storage,
        poll_interval_s=0.05,
    )
    async with running(crashing):
        await eventually(lambda: purged_count(services, job))
        await asyncio.sleep(0.2)  # redelivered several times
    assert (await checkpoints.peek(services.database.pool, NAME)) == Checkpoint()
    # When a healthy purger restarts and is handed the same ProcessingFinished again
    restarted = file_reactor(services, UploadPurge())
    async with running(restarted):
        target = await head(services)
        await eventually(lambda: passed(restarted, target))
    # Then there is still exactly one UploadsPurged
    assert await purged_count(services, job) == 1


async def test_two_attempts_racing_on_one_job_append_one_event(
    services: Services, purger: FileReactor
) -> None:
    # Given a finished job
    job = await finished_job(services)
    # When two attempts run at once (a redelivery overlapping a sweep's retry)
    results = await asyncio.gather(*(purger.attempt(job.job_id) for _ in range(4)))
    # Then all succeed and the deterministic id leaves one event
    assert results == [(), (), (), ()]
    assert await purged_count(services, job) == 1


async def test_an_undeletable_upload_is_retried_and_reported_without_holding_up_other_jobs(
    services: Services, purger: FileReactor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    data_dir = services.settings.data_dir
    # Given two finished jobs, the first with an upload that cannot be deleted (as root too)
    stuck = await finished_job(services)
    other = await finished_job(services)
    blocked = stuck.upload_paths(data_dir)[0]
    with contextlib.ExitStack() as unblock:
        how = unblock.enter_context(undeletable(blocked))
        async with running(purger):
            # Then the other job's uploads are purged all the same
            await eventually(lambda: purged_count(services, other))
            # And the stuck file is retried with backoff, logged and reported
            await eventually(lambda: any(r["attempts"] >= 3 for r in purger.retry.stuck()))
            [report] = purger.readiness()["stuck"]
            assert report["job_id"] == str(stuck.job_id), how
            assert report["file"] == stuck.received.files[0].key
            assert report["error"]
            assert purger.readiness()["ok"] is True  # reported, yet the service stays ready
            assert any(
                getattr(r, "action", None) == "upload_purger.delete_failed"
                and stuck.received.files[0].key in r.getMessage()
                for r in caplog.records
            )
            assert await purged_count(services, stuck) == 0
            # And the checkpoint was not held back by it
            target = await head(services)
            await eventually(lambda: passed(purger, target))
            # When the file becomes deletable again
            unblock.close()
            # Then a retry completes the purge and the report clears
            await eventually(lambda: purged_count(services, stuck))
            await eventually(lambda: purger.readiness()["stuck"] == [])
    assert not (data_dir / "uploads" / str(stuck.job_id)).exists()


async def test_a_restart_finds_jobs_behind_the_checkpoint_that_were_never_purged(
    services: Services, purger: FileReactor
) -> None:
    # Given a finished job whose ProcessingFinished the purger already passed (its retry
    # queue, in memory, was lost in a crash), and a job view that shows it unpurged
    job = await finished_job(services)
    await project(services)
    async with services.database.pool.acquire() as conn:
        await checkpoints.load(conn, NAME)
        await checkpoints.store(conn, NAME, await head(services))
    # When the purger starts
    async with running(purger):
        # Then its sweep finds the job and purges it
        await eventually(lambda: purged_count(services, job))
    assert not any(p.exists() for p in job.upload_paths(services.settings.data_dir))


async def test_an_output_the_log_never_recorded_goes_with_the_purge(
    services: Services, purger: FileReactor
) -> None:
    # Given a finished job and, beside its recorded outputs, a render a dead worker
    # stored but never recorded
    job = await finished_job(services)
    data_dir = services.settings.data_dir
    stray = data_dir / "outputs" / str(job.job_id) / "f" / "v01-a9.mp4"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"unrecorded")
    # When the purger runs
    async with running(purger):
        await eventually(lambda: purged_count(services, job))
    # Then the stray object is gone, and every recorded output is kept until expiry
    assert not stray.exists()
    assert all(p.exists() for p in job.output_paths(data_dir))
