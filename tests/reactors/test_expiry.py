"""The expiry scheduler: retention, never-started jobs, races, storage pressure, one
active instance."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from service.bootstrap import Services
from service.clock import FixedClock
from service.events.base import EventMetadata, NewEvent
from service.events.job import Expired, ProcessingFinished
from service.reactors.expire import NEVER_STARTED
from service.reactors.expiry import ExpiryScheduler
from service.reactors.pressure import measure
from tests.builders import T0
from tests.reactors.builders import (
    events_of,
    finished_job,
    processing_job,
    project,
    received_job,
)
from tests.support import eventually, running

DAY = timedelta(hours=24)


def scheduler(
    services: Services,
    clock: FixedClock,
    usage: tuple[int, int] | None = (0, 1000),
    **overrides: Any,
) -> ExpiryScheduler:
    """A scheduler whose disk usage is `usage` (None: the real data volume's)."""
    options: dict[str, Any] = {
        "interval_s": 3600,
        "high_water": 0.85,
        "low_water": 0.80,
        "usage_probe": (lambda: usage) if usage is not None else None,
        **overrides,
    }
    return ExpiryScheduler(
        store=services.store,
        database=services.database,
        clock=clock,
        data_dir=services.settings.data_dir,
        poll_interval_s=0.05,
        **options,
    )


async def types_of(services: Services, job: object) -> list[str]:
    return [e.type for e in await services.store.read_stream(job.stream)]  # type: ignore[attr-defined]


async def test_finished_jobs_past_their_expiry_are_expired_for_retention(
    services: Services,
) -> None:
    # Given a completed, a partial and a failed job due at T0+24h, and one due a day later
    due = [await finished_job(services, o) for o in ("completed", "partial", "failed")]  # type: ignore[arg-type]
    later = await finished_job(services, retention=2 * DAY)
    await project(services)
    clock = FixedClock(T0 + DAY + timedelta(seconds=1))
    # When a round runs past the first three's expiry
    result = await scheduler(services, clock).run_once()
    # Then each of them has one Expired for retention, at the clock's time
    assert sorted(result.expired) == sorted(j.job_id for j in due)
    for job in due:
        [expired] = await events_of(services, job, Expired.TYPE)
        assert (expired.event.reason, expired.event.expired_at) == ("retention", clock.now())
    assert await events_of(services, later, Expired.TYPE) == []
    # And another round expires nothing twice
    await project(services)
    assert (await scheduler(services, clock).run_once()).expired == []
    for job in due:
        assert len(await events_of(services, job, Expired.TYPE)) == 1


async def test_a_job_never_started_is_failed_then_expired_and_a_processing_one_is_left_alone(
    services: Services,
) -> None:
    # Given a job still `received` and one `processing`, both past their expiry
    waiting = await received_job(services)
    working = await processing_job(services)
    await project(services)
    clock = FixedClock(T0 + 2 * DAY)
    # When a round runs
    await scheduler(services, clock).run_once()
    # Then the received job is finished as failed, then expired, in one go
    assert await types_of(services, waiting) == [
        "UploadReceived",
        "ProcessingFinished",
        "Expired",
    ]
    [finished] = await events_of(services, waiting, ProcessingFinished.TYPE)
    assert (finished.event.outcome, finished.event.reason) == ("failed", NEVER_STARTED)
    # And the processing job is untouched: time never expires work in progress
    assert await types_of(services, working) == ["UploadReceived", "ProcessingStarted"]


async def test_a_job_that_moved_since_the_view_was_read_is_skipped_not_expired_twice(
    services: Services,
) -> None:
    # Given a due job in the view, then expired by someone else before the round
    job = await finished_job(services)
    await project(services)
    other = Expired(job_id=job.job_id, reason="admin", expired_at=T0)
    await services.store.append(
        job.stream, [NewEvent.of(other, metadata=EventMetadata(actor="admin"))], "any"
    )
    # When the scheduler works from the stale view
    result = await scheduler(services, FixedClock(T0 + 2 * DAY)).run_once()
    # Then its append loses the race and it skips the job: one Expired, the other writer's
    assert result.skipped == [job.job_id] and result.expired == []
    [expired] = await events_of(services, job, Expired.TYPE)
    assert expired.event.reason == "admin"


async def test_storage_pressure_evicts_the_oldest_finished_jobs_until_under_low_water(
    services: Services,
) -> None:
    # Given five finished jobs (30 bytes each to free: a 10-byte upload and two 10-byte
    # outputs), created in an order unlike their age, and an older job never started
    ages = [3, 0, 4, 1, 2]  # hours after T0; the job at +4h is the newest
    jobs = {
        age: await finished_job(
            services, sizes=(10,), output_size=10, received_at=T0 + timedelta(hours=age)
        )
        for age in ages
    }
    waiting = await received_job(services, received_at=T0 - timedelta(hours=1))
    await project(services)
    # When the volume is 90% full (high water 85%, low water 80%), before any retention
    result = await scheduler(services, FixedClock(T0 + DAY / 2), usage=(900, 1000)).run_once()
    # Then the oldest four go, oldest first: 900 - 4 x 30 = 780 is the first under 800
    assert result.evicted == [jobs[age].job_id for age in (0, 1, 2, 3)]
    for age in (0, 1, 2, 3):
        [expired] = await events_of(services, jobs[age], Expired.TYPE)
        assert expired.event.reason == "storage_pressure"
    assert await events_of(services, jobs[4], Expired.TYPE) == []
    # And the unstarted job is not evicted: it has no results yet
    assert await types_of(services, waiting) == ["UploadReceived"]


async def test_at_or_below_the_high_water_mark_nothing_is_evicted(services: Services) -> None:
    job = await finished_job(services)
    await project(services)
    result = await scheduler(services, FixedClock(T0), usage=(850, 1000)).run_once()
    assert result.evicted == [] and await events_of(services, job, Expired.TYPE) == []


async def test_bytes_already_owed_by_expired_jobs_count_before_evicting_more(
    services: Services,
) -> None:
    # Given an expired job not yet reaped that will free 150 bytes, and a finished job
    owed = await finished_job(services, sizes=(50,), output_size=50)
    await services.store.append(
        owed.stream,
        [NewEvent.of(Expired(job_id=owed.job_id, reason="admin", expired_at=T0))],
        "any",
    )
    job = await finished_job(services)
    await project(services)
    # When the volume is 90% full: 900 - 150 = 750 is already under the low-water mark
    result = await scheduler(services, FixedClock(T0), usage=(900, 1000)).run_once()
    # Then nothing more is evicted
    assert result.evicted == [] and await events_of(services, job, Expired.TYPE) == []


async def test_the_scheduler_runs_at_start_and_only_one_instance_is_active(
    services: Services,
) -> None:
    # Given a due job and two schedulers (as in two processes)
    job = await finished_job(services)
    await project(services)
    clock = FixedClock(T0 + 2 * DAY)
    first, second = scheduler(services, clock), scheduler(services, clock)
    async with running(first), running(second):
        # Then one becomes active and runs a round at once, though its interval is an hour
        await eventually(lambda: events_of(services, job, Expired.TYPE))
        await asyncio.sleep(0.3)
        assert first.active != second.active
        assert first.rounds + second.rounds == 1
    assert len(await events_of(services, job, Expired.TYPE)) == 1


async def test_after_the_first_round_a_round_runs_every_interval(services: Services) -> None:
    # Given a job due a day after T0, and a scheduler with a 0.1 s period started at T0
    job = await finished_job(services)
    await project(services)
    clock = FixedClock(T0)
    ticking = scheduler(services, clock, interval_s=0.1)
    async with running(ticking):
        await eventually(lambda: ticking.rounds >= 1)
        assert await events_of(services, job, Expired.TYPE) == []
        # When the day passes, with the scheduler left running
        clock.advance(DAY)
        # Then a later round expires the job, without a restart
        await eventually(lambda: events_of(services, job, Expired.TYPE), within=5)
        assert ticking.rounds >= 2


async def test_without_a_probe_the_data_volume_itself_is_measured(services: Services) -> None:
    # Given a finished job, and water marks any real disk is above (its usage is never 0)
    job = await finished_job(services)
    await project(services)
    eager = scheduler(services, FixedClock(T0), usage=None, high_water=0.0, low_water=0.0)
    # When a round runs with the default probe
    result = await eager.run_once()
    # Then it measured the data directory's volume, found it "full" and evicted the job
    assert result.usage is not None
    used, total = measure(services.settings.data_dir)
    assert result.usage.total_bytes == total
    assert abs(result.usage.used_bytes - used) < 256 * 2**20  # other writers share the disk
    assert result.evicted == [job.job_id]


def test_usage_is_what_df_reports_with_root_reserved_space_counted_as_used(
    tmp_path: Path,
) -> None:
    # Given df's view of the volume holding a folder: used, and available to non-root
    df = subprocess.run(
        ["df", "-B1", "--output=used,avail", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    df_used, df_avail = map(int, df.stdout.split()[-2:])
    # When the scheduler's probe measures it
    used, total = measure(tmp_path)
    # Then used is df's used and the total is used + available (df's Use% denominator)
    slack = 256 * 2**20  # other writers share the disk
    assert abs(used - df_used) < slack
    assert abs(total - (df_used + df_avail)) < slack


async def test_with_a_quota_the_bytes_the_log_records_decide_not_the_volume(
    services: Services,
) -> None:
    # Given five finished jobs recording 30 bytes each (150 in all), a quota of 160 bytes
    # (94%), and a data volume the probe says is empty
    jobs = [
        await finished_job(
            services, sizes=(10,), output_size=10, received_at=T0 + timedelta(hours=age)
        )
        for age in range(5)
    ]
    await project(services)
    eviction = scheduler(services, FixedClock(T0 + DAY / 2), usage=(0, 1000), quota_bytes=160)
    # When a round runs
    result = await eviction.run_once()
    # Then the oldest job goes: 150 - 30 = 120 is under 80% of 160 (128)
    assert result.evicted == [jobs[0].job_id]
    assert result.usage is not None and result.usage.used_bytes == 150


async def test_a_bucket_without_a_quota_is_never_measured_by_the_local_volume(
    services: Services,
) -> None:
    job = await finished_job(services)
    await project(services)
    bucket = scheduler(services, FixedClock(T0), usage=(999, 1000), measure_disk=False)
    result = await bucket.run_once()
    assert result.evicted == [] and await events_of(services, job, Expired.TYPE) == []
