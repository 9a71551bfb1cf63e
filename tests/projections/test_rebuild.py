"""The admin rebuild: replay into a shadow while the live view serves, catch up, swap in one
short transaction; readers never see a partial view and no event is lost or doubled."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import pytest

from service.audit.compare import compare_job_view
from service.bootstrap import Services
from service.errors import RebuildFailed, RebuildInProgress, UnknownProjection
from service.projections import checkpoints, job_view
from service.projections.rebuild import JobViewRebuild, exclusive_rebuild, rebuild
from service.projections.runner import SubscriptionRunner
from tests.audit.support import (
    LoggedJob,
    job_view_runner,
    last_committed,
    log_visible,
    logged_job,
)
from tests.projections.support import CountingProjection, shadow_caught_up
from tests.support import eventually, running

_INDEXES = "SELECT indexname FROM pg_indexes WHERE tablename = 'job_view' ORDER BY indexname"


@dataclass
class Reads:
    count: int = 0
    problems: list[str] = field(default_factory=list)


async def keep_appending(services: Services, stop: asyncio.Event, into: list[LoggedJob]) -> None:
    """New jobs, some finished and some half-way through their lives, until stopped."""
    while not stop.is_set():
        into.append(await logged_job(services, events=random.randint(1, 10)))
        await asyncio.sleep(0.002)


async def keep_reading(services: Services, jobs: Sequence[LoggedJob], stop: asyncio.Event) -> Reads:
    """Read finished jobs one by one and the whole list, checking each answer is whole."""
    reads = Reads()
    seen_version: dict[uuid.UUID, int] = {}
    listed = 0
    while not stop.is_set():
        for job in jobs:
            state = await services.jobs.get(job.job_id)
            reads.count += 1
            if state is None or state.status != "expired" or len(state.outputs) != 4:
                reads.problems.append(f"{job.job_id}: {state!r}")
            elif state.version < seen_version.get(job.job_id, 0):
                reads.problems.append(f"{job.job_id} went back to version {state.version}")
            else:
                seen_version[job.job_id] = state.version
        everything = await services.jobs.list(None, limit=10_000)
        if len(everything) < listed:
            reads.problems.append(f"the list shrank from {listed} to {len(everything)}")
        listed = len(everything)
    return reads


async def grows(size: Callable[[], int], by: int) -> None:
    target = size() + by
    await eventually(lambda: size() >= target)


async def stream_versions(pool: asyncpg.Pool) -> dict[uuid.UUID, int]:
    rows = await pool.fetch(
        "SELECT substr(stream_id, 5)::uuid AS job_id, max(version) AS version FROM events"
        " WHERE stream_id LIKE 'job-%' GROUP BY stream_id"
    )
    return {r["job_id"]: r["version"] for r in rows}


async def view_versions(pool: asyncpg.Pool) -> dict[uuid.UUID, int]:
    return {
        r["job_id"]: r["version"] for r in await pool.fetch("SELECT job_id, version FROM job_view")
    }


async def assert_view_is_a_fresh_replay(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        report = await compare_job_view(conn)
    assert report.differences == []
    # and no event is missing: every job's row is at its stream's last version
    assert await view_versions(pool) == await stream_versions(pool)


async def caught_up(services: Services, runner: SubscriptionRunner) -> None:
    """Until the runner has applied every committed event (see `log_visible`)."""
    target = await last_committed(services)
    await eventually(
        lambda: runner.checkpoint is not None and runner.checkpoint >= target, within=30
    )


async def test_a_rebuild_under_appends_and_reads_swaps_in_a_complete_view_missing_nothing(
    services: Services,
) -> None:
    pool = services.database.pool
    # Given finished jobs projected by the live runner, one row damaged by hand
    jobs = [await logged_job(services) for _ in range(12)]
    damaged, served = jobs[0], jobs[1:]
    runner = job_view_runner(services)
    async with running(runner):
        await caught_up(services, runner)
        await pool.execute(
            "UPDATE job_view SET status = 'failed' WHERE job_id = $1", damaged.job_id
        )
        indexes = await pool.fetch(_INDEXES)
        # And writers appending and readers reading all the while
        stop = asyncio.Event()
        appended: list[LoggedJob] = []
        writing = asyncio.create_task(keep_appending(services, stop, appended))
        reading = asyncio.create_task(keep_reading(services, served, stop))
        # When the view is rebuilt, with writes landing between each of its steps
        async with (
            exclusive_rebuild(services.database, job_view.NAME) as reader,
            pool.acquire() as writer,
        ):
            rebuilding = JobViewRebuild(reader, writer, page_size=7)
            await rebuilding.prepare()
            await rebuilding.replay()
            await grows(lambda: len(appended), by=3)
            await rebuilding.catch_up()
            await grows(lambda: len(appended), by=3)
            report = await rebuilding.swap()
        # And the writes go on after the swap, followed by the runner into the new table
        await grows(lambda: len(appended), by=3)
        stop.set()
        await writing
        reads = await reading
        await caught_up(services, runner)
    # Then no reader ever saw a missing, partial or older job
    assert reads.count > 0 and reads.problems == []
    # And the view is what a fresh replay gives, every job at its stream's last version
    await assert_view_is_a_fresh_replay(pool)
    assert len(await view_versions(pool)) == len(jobs) + len(appended)
    # And the damaged row is repaired, under the same index names
    repaired = await services.jobs.get(damaged.job_id)
    assert repaired is not None and repaired.status == "expired"
    assert await pool.fetch(_INDEXES) == indexes
    assert report.jobs >= len(jobs) and report.swap_ms < 5000


async def test_the_swap_applies_what_the_live_view_has_and_the_shadow_lacks(
    services: Services,
) -> None:
    pool = services.database.pool
    await logged_job(services)
    runner = job_view_runner(services)
    async with running(runner):
        async with (
            exclusive_rebuild(services.database, job_view.NAME) as reader,
            pool.acquire() as writer,
        ):
            # Given a shadow caught up with the log
            rebuilding = await shadow_caught_up(reader, writer)
            shadow_at = rebuilding.checkpoint
            # And a job the live runner applies after that
            later = await logged_job(services)
            await caught_up(services, runner)
            live_at = await checkpoints.peek(pool, job_view.NAME)
            assert shadow_at < live_at
            # When the shadow is swapped in
            report = await rebuilding.swap()
        # Then the swap applied those events first: the live checkpoint stays, nothing lost
        assert report.checkpoint == live_at == await checkpoints.peek(pool, job_view.NAME)
        assert report.events == 20
        assert (await services.jobs.get(later.job_id)) is not None
    await assert_view_is_a_fresh_replay(pool)


async def test_a_shadow_ahead_of_the_runner_moves_its_checkpoint_and_nothing_is_applied_twice(
    services: Services,
) -> None:
    pool = services.database.pool
    # Given a view projected up to one job, and then a stopped runner while more arrive
    first = await logged_job(services)
    runner = job_view_runner(services)
    async with running(runner):
        await caught_up(services, runner)
    behind = await checkpoints.peek(pool, job_view.NAME)
    later = await logged_job(services)
    await log_visible(services)
    # When the view is rebuilt: the shadow reaches the head, past the live checkpoint
    report = await rebuild(services.database, job_view.NAME)
    # Then the checkpoint moves forward to the shadow's
    assert behind < report.checkpoint == await checkpoints.peek(pool, job_view.NAME)
    assert report.checkpoint.position == later.appended[-1].last_position
    # And a runner started afterwards applies only what comes next, once
    counting = CountingProjection()
    restarted = SubscriptionRunner(job_view.NAME, counting, services.database, poll_interval_s=0.02)
    async with running(restarted):
        await eventually(lambda: restarted.active)
        await asyncio.sleep(0.1)
        assert counting.applied == []
        next_job = await logged_job(services, events=1)
        await eventually(
            lambda: counting.applied == [next_job.appended[0].last_position], within=30
        )
    await assert_view_is_a_fresh_replay(pool)
    assert (await services.jobs.get(first.job_id)) is not None


async def test_a_second_rebuild_and_an_unknown_projection_are_refused(services: Services) -> None:
    async with exclusive_rebuild(services.database, job_view.NAME):
        with pytest.raises(RebuildInProgress, match="already running"):
            await rebuild(services.database, job_view.NAME)
    with pytest.raises(UnknownProjection, match="no projection named 'jobs'"):
        await rebuild(services.database, "jobs")


async def test_a_live_table_changed_during_the_rebuild_is_left_as_it_is(
    services: Services,
) -> None:
    pool = services.database.pool
    job = await logged_job(services)
    await log_visible(services)
    async with (
        exclusive_rebuild(services.database, job_view.NAME) as reader,
        pool.acquire() as writer,
    ):
        rebuilding = await shadow_caught_up(reader, writer)
        # Given a migration that adds a column while the shadow is being built
        await pool.execute("ALTER TABLE job_view ADD COLUMN note text")
        # When the rebuild tries to swap, it refuses and changes nothing
        with pytest.raises(RebuildFailed, match="columns of job_view changed"):
            await rebuilding.swap()
    columns = await pool.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'job_view'::regclass AND attnum > 0"
    )
    assert "note" in {c["attname"] for c in columns}
    # And running it again, from scratch, succeeds
    report = await rebuild(services.database, job_view.NAME)
    assert report.jobs == 1 and (await services.jobs.get(job.job_id)) is not None


async def test_a_rebuild_that_fails_midway_leaves_the_live_view_and_no_shadow(
    services: Services,
) -> None:
    pool = services.database.pool
    # Given a projected view
    jobs = [await logged_job(services) for _ in range(3)]
    runner = job_view_runner(services)
    async with running(runner):
        await caught_up(services, runner)
    before = await pool.fetch("SELECT * FROM job_view ORDER BY job_id")

    # When a rebuild fails half-way through its replay
    def interrupted(done: int, total: int) -> None:
        if done > 10:
            raise RuntimeError("operator pressed Ctrl-C")

    with pytest.raises(RuntimeError, match="Ctrl-C"):
        await rebuild(services.database, job_view.NAME, progress=interrupted, page_size=4)
    # Then the live view is exactly as it was, and the half-built shadow is gone
    assert await pool.fetch("SELECT * FROM job_view ORDER BY job_id") == before
    assert len(before) == len(jobs)
    assert await pool.fetchval("SELECT to_regclass('job_view_shadow')") is None
