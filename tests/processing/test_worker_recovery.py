"""A worker that dies mid-job — its process killed, or its connection dropped — loses
the job's lease; the job is reclaimed and completes exactly once, with no orphan file
and no ffmpeg left running."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil

from service.bootstrap import Services
from service.events.job import ProcessingFinished, ProcessingStarted, VariationRendered
from tests.cli.test_commands import ROOT, cli_env
from tests.processing.support import (
    events_of,
    files_under,
    finished,
    make_worker,
    recorded_paths,
    types_of,
    upload_job,
    worker_running,
)
from tests.support import eventually


def ffmpeg_working_on(job_id: uuid.UUID) -> list[psutil.Process]:
    """Live ffmpeg processes whose command line names this job's files."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if str(job_id) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


async def rendered_count(services: Services, job_id: uuid.UUID) -> int:
    events = await events_of(services, job_id)
    return sum(isinstance(e.event, VariationRendered) for e in events)


async def assert_completed_exactly_once(services: Services, job_id: uuid.UUID) -> None:
    job = await finished(services, job_id, within=120)
    assert job.status == "completed" and job.attempt == 2
    events = await events_of(services, job_id)
    attempts = [e.event.attempt for e in events if isinstance(e.event, ProcessingStarted)]
    assert attempts == [1, 2]
    rendered = [e.event for e in events if isinstance(e.event, VariationRendered)]
    assert sorted(r.variation_index for r in rendered) == [1, 2, 3]
    assert [e.type for e in events].count("ProcessingFinished") == 1
    # no orphan: the folder holds exactly the recorded outputs, and no ffmpeg still runs
    outputs = services.settings.data_dir / "outputs" / str(job_id)
    assert files_under(outputs) == recorded_paths(job)
    assert ffmpeg_working_on(job_id) == []


async def test_a_worker_process_killed_mid_job_is_recovered_and_completes_once(
    services: Services, database_url: str, long_clip: Path
) -> None:
    # Given a worker process rendering a job of 3 slow variations
    received = await upload_job(services, [long_clip], variations=3)
    job_id = received.job_id
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(services.settings.data_dir),
        VR_ROLE="worker",
        VR_PORT="0",
        VR_POLL_INTERVAL_S="0.05",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # When it is killed (SIGKILL: no clean-up) after recording its first variation,
        # while the second renders
        await eventually(lambda: rendered_count(services, job_id), within=120)
        await eventually(lambda: ffmpeg_working_on(job_id), within=30)
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # Then its ffmpeg died with it
    await eventually(lambda: not ffmpeg_working_on(job_id), within=10)

    # And another worker reclaims the job and completes it exactly once
    async with worker_running(services):
        await assert_completed_exactly_once(services, job_id)


async def test_a_worker_whose_connection_drops_stops_its_job_and_it_is_reclaimed(
    services: Services, long_clip: Path
) -> None:
    # Given a worker rendering a job of 3 slow variations
    received = await upload_job(services, [long_clip], variations=3)
    job_id = received.job_id
    worker = make_worker(services)
    async with worker_running(services, worker):
        await eventually(lambda: rendered_count(services, job_id), within=120)
        await eventually(lambda: ffmpeg_working_on(job_id), within=30)

        # When the database drops the connection that holds the job's lease
        pool = services.database.pool
        key = await pool.fetchval("SELECT hashtextextended('vr-job:' || $1, 0)", str(job_id))
        holder = await pool.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = $1::bigint::oid AND objid = $2::bigint::oid",
            (key >> 32) & 0xFFFFFFFF,
            key & 0xFFFFFFFF,
        )
        assert holder is not None
        await pool.execute("SELECT pg_terminate_backend($1)", holder)

        # Then the worker stops rendering at once, then reconnects, reclaims the job
        # (attempt 2) and completes it exactly once
        await assert_completed_exactly_once(services, job_id)


async def test_a_stopping_worker_finishes_the_job_in_hand(
    services: Services, long_clip: Path
) -> None:
    # Given a worker rendering a job (the only worker, so the job is in its hands)
    received = await upload_job(services, [long_clip], variations=2)
    worker = make_worker(services)
    async with worker_running(services, worker):
        await eventually(lambda: ffmpeg_working_on(received.job_id), within=60)
        # When it is asked to stop (a graceful shutdown)
        worker.stop()
        # Then it lets go of the job only once it is finished in the log: completed on
        # the first attempt
        await eventually(lambda: not worker.readiness()["jobs"], within=120)
        events = await events_of(services, received.job_id)
        assert types_of(events)[-1] == ProcessingFinished.TYPE
        job = await finished(services, received.job_id, within=5)
    assert job.status == "completed" and job.attempt == 1
