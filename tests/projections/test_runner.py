"""The subscription runner: catch up then live, one transaction per batch, one active
instance per name, failover from the checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest

from service.bootstrap import Services
from service.events.base import RecordedEvent
from service.events.job import job_stream
from service.events.store import ANY, NO_STREAM
from service.projections import checkpoints, job_view
from service.projections.runner import SubscriptionRunner
from tests.builders import new, processing_started, upload_received
from tests.projections.support import CountingProjection
from tests.support import eventually, running


class Recorder:
    """A handler that remembers what it was given (its effects are in memory only)."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        self.seen.extend(e.position for e in events)


class CrashAfterApplying:
    """Applies the real projection, then dies before the transaction commits."""

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        await job_view.JobViewProjection().handle(conn, events)
        raise RuntimeError("crash before commit")


async def append_jobs(services: Services, count: int) -> list[int]:
    positions = []
    for _ in range(count):
        created = upload_received()
        result = await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
        positions.extend(result.positions)
    return positions


async def test_runner_catches_up_then_follows_the_log_live(services: Services) -> None:
    # Given events written before the runner starts
    before = await append_jobs(services, 3)
    recorder = Recorder()
    runner = SubscriptionRunner("test", recorder, services.database, poll_interval_s=0.05)
    async with running(runner):
        await eventually(lambda: recorder.seen == before)
        # When more events arrive while it runs
        after = await append_jobs(services, 2)
        # Then it delivers them too, in order, each once
        await eventually(lambda: recorder.seen == before + after)
    stored = await checkpoints.peek(services.database.pool, "test")
    assert stored.position == after[-1]


async def test_runner_wakes_on_notify_well_before_its_poll_interval(services: Services) -> None:
    recorder = Recorder()
    # A poll interval far longer than the test's patience: only a NOTIFY can wake it in time.
    runner = SubscriptionRunner("test", recorder, services.database, poll_interval_s=60)
    async with running(runner):
        await eventually(lambda: runner.active)
        await asyncio.sleep(0.1)  # let it reach its idle wait
        positions = await append_jobs(services, 1)
        await eventually(lambda: recorder.seen == positions, within=5)


async def test_a_crash_before_commit_leaves_read_model_and_checkpoint_unchanged(
    services: Services,
) -> None:
    # Given three jobs in the log
    positions = await append_jobs(services, 3)
    pool = services.database.pool
    # When the projection applies a batch and crashes before committing
    crashing = SubscriptionRunner(
        job_view.NAME, CrashAfterApplying(), services.database, poll_interval_s=0.05
    )
    async with running(crashing):
        await eventually(lambda: crashing.active)
        await asyncio.sleep(0.3)  # several failed attempts
    # Then neither the read model nor the checkpoint moved
    assert await pool.fetchval("SELECT count(*) FROM job_view") == 0
    assert (await checkpoints.peek(pool, job_view.NAME)).position == 0
    # And on restart every event is applied exactly once
    counting = CountingProjection()
    runner = SubscriptionRunner(job_view.NAME, counting, services.database, poll_interval_s=0.05)
    async with running(runner):
        await eventually(lambda: counting.applied == positions)
    rows = await pool.fetch("SELECT version, last_position FROM job_view ORDER BY last_position")
    assert [(r["version"], r["last_position"]) for r in rows] == [(1, p) for p in positions]


async def test_only_one_runner_per_name_is_active_and_the_standby_takes_over(
    services: Services,
) -> None:
    pool = services.database.pool
    recorder = Recorder()
    first = SubscriptionRunner("shared", recorder, services.database, poll_interval_s=0.05)
    second = SubscriptionRunner("shared", recorder, services.database, poll_interval_s=0.05)
    async with running(first), running(second):
        # Given two runners with the same name: exactly one becomes active
        await eventually(lambda: first.active or second.active)
        await asyncio.sleep(0.2)
        assert first.active != second.active
        active, standby = (first, second) if first.active else (second, first)
        before = await append_jobs(services, 2)
        await eventually(lambda: recorder.seen == before)
        # When the active runner's connection is killed
        holder_pids = await pool.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid ="
            " (hashtextextended('vr-subscription:shared', 0) & x'ffffffff'::bigint)::oid"
        )
        assert len(holder_pids) == 1
        await pool.execute("SELECT pg_terminate_backend($1)", holder_pids[0]["pid"])
        # Then the standby takes over from the checkpoint: new events once, none repeated
        await eventually(lambda: standby.active)
        after = await append_jobs(services, 2)
        await eventually(lambda: recorder.seen == before + after)
        await asyncio.sleep(0.2)
        assert recorder.seen == before + after
        assert not active.active


async def test_job_view_follows_each_jobs_stream(services: Services) -> None:
    created = upload_received(variations=2)
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    result = await services.store.append(stream, [new(processing_started(created.job_id))], ANY)
    runner = SubscriptionRunner(
        job_view.NAME,
        job_view.JobViewProjection(),
        services.database,
        poll_interval_s=0.05,
        on_advance=services.job_view_waiter.advanced,
    )
    async with running(runner):
        assert await services.job_view_waiter.wait_for(result, timeout_s=5)
        job = await services.jobs.get(created.job_id)
    assert job is not None
    assert job.status == "processing"
    assert job.version == 2 and job.last_position == result.last_position
    assert [f.name for f in job.files] == ["a.mp4", "b.mov"]


async def test_wait_for_gives_up_after_its_timeout_when_nothing_applies(
    services: Services,
) -> None:
    created = upload_received()
    result = await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
    assert not await services.job_view_waiter.wait_for(result, timeout_s=0.2)


@pytest.fixture(autouse=True)
def _fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.projections.runner.RECONNECT_DELAY_S", 0.05)
