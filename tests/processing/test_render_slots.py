"""Render slots: a worker runs up to `concurrency` renders at once, and one job alone fills
them with its own variations, each render with its share of the cores; the log still
records each upload's variations in order."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psutil

from service.bootstrap import Services
from service.events.job import VariationRendered
from service.processing.worker import default_concurrency, ffmpeg_threads
from tests.processing.support import events_of, finished, make_worker, upload_job, worker_running


def renders_running() -> list[list[str]]:
    """The command lines of this process's ffmpeg renders (not header probes)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.Error:
            continue  # it ended while we looked
        # (a thumbnail, one JPEG frame made after a render, is not a render)
        if (
            cmdline
            and "ffmpeg" in Path(cmdline[0]).name
            and "-vf" in cmdline
            and "mjpeg" not in cmdline
        ):
            found.append(cmdline)
    return found


async def test_one_job_renders_two_variations_at_once_in_two_slots_and_records_them_in_order(
    services: Services, long_clip: Path
) -> None:
    # Given a worker with two render slots and a job of three variations of a 10 s clip
    worker = make_worker(services, concurrency=2)
    received = await upload_job(services, [long_clip], variations=3)
    most_at_once, threads_seen = 0, set()
    async with worker_running(services, worker):
        # When it renders, watched every 20 ms
        job_task = asyncio.ensure_future(finished(services, received.job_id, within=120))
        while not job_task.done():
            running = await asyncio.to_thread(renders_running)
            most_at_once = max(most_at_once, len(running))
            threads_seen |= {argv[argv.index("-threads") + 1] for argv in running}
            await asyncio.sleep(0.02)
        job = await job_task
    # Then two renders ran at once, never three, each with one of the two cores' threads
    assert most_at_once == 2
    assert threads_seen == {str(ffmpeg_threads(None, 2))}
    # and the job completed with its variations recorded in order
    assert job.outcome == "completed"
    rendered = [
        e.event.variation_index
        for e in await events_of(services, received.job_id)
        if isinstance(e.event, VariationRendered)
    ]
    assert rendered == [1, 2, 3]


def test_by_default_a_worker_runs_one_render_per_core_with_one_thread_each() -> None:
    assert default_concurrency(2) == 2
    assert default_concurrency(8) == 8
    assert default_concurrency(None) == 1  # the core count is unknown
    assert ffmpeg_threads(None, 2) == max(1, (os.cpu_count() or 1) // 2)
    assert ffmpeg_threads(None, 1) is None  # one render alone: ffmpeg's own choice
    assert ffmpeg_threads(3, 2) == 3  # VR_FFMPEG_THREADS wins
