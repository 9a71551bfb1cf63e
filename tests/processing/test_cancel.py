"""Cancellation as the worker sees it: a cancel racing the last render ends the job once,
with an outcome that agrees with the recorded outputs; a job whose worker died while
cancelling is finished as cancelled by the next claimant, rendering nothing more."""

from __future__ import annotations

import asyncio
import uuid

from service.bootstrap import Services
from service.errors import JobNotCancellable
from service.events.job import ProcessingFinished, ProcessingStarted, job_stream
from service.processing.cancel import cancel_job
from tests import builders
from tests.clips import TinyClips
from tests.processing.support import (
    events_of,
    files_under,
    finished,
    recorded_paths,
    types_of,
    upload_job,
    worker_running,
)
from tests.support import eventually

RACE_ROUNDS = 10
RACE_STEP_S = 0.08  # up to 0.72 s: a render, its thumbnails and its record
"""Cancels land 0, 80, … 720 ms after the claim: before, during and after the one render
of a tiny clip and its thumbnails (~0.2-0.5 s here), so some rounds race its record and the
finish."""


async def cancel(services: Services, job_id: uuid.UUID) -> bool:
    """True when the cancel was recorded, False when the job had already ended."""
    try:
        result = await cancel_job(
            services.store, job_id, requested_by="test", actor="test", now=services.clock.now()
        )
    except JobNotCancellable:
        return False
    return result.appended is not None


async def test_a_cancel_racing_the_last_render_ends_the_job_once_and_agrees_with_its_outputs(
    services: Services, tiny_clips: TinyClips
) -> None:
    outcomes = []
    async with worker_running(services):
        for round_ in range(RACE_ROUNDS):
            # Given a job of one variation that a worker has just claimed
            received = await upload_job(services, [tiny_clips.mp4], variations=1)
            job_id = received.job_id

            async def claimed(job_id: uuid.UUID = job_id) -> bool:
                return ProcessingStarted.TYPE in types_of(await events_of(services, job_id))

            await eventually(claimed, within=30)
            # When a cancel arrives a little later
            await asyncio.sleep(round_ * RACE_STEP_S)
            recorded = await cancel(services, job_id)
            job = await finished(services, job_id, within=30)
            events = await events_of(services, job_id)
            # Then exactly one ProcessingFinished ends it
            finishes = [e.event for e in events if isinstance(e.event, ProcessingFinished)]
            assert len(finishes) == 1, types_of(events)
            # and a recorded cancel always wins: the outcome is cancelled; otherwise the job
            # completed before the cancel came and the cancel was refused
            assert finishes[0].outcome == ("cancelled" if recorded else "completed")
            assert job.outcome == finishes[0].outcome
            # and the disk holds exactly the outputs the log records: none or the one
            outputs = services.settings.data_dir / "outputs" / str(job_id)
            assert files_under(outputs) == recorded_paths(job)
            assert len(job.outputs) <= 1
            outcomes.append((finishes[0].outcome, len(job.outputs)))
    # The rounds covered both sides of the race
    assert {o for o, _ in outcomes} == {"cancelled", "completed"}, outcomes


async def test_a_job_whose_worker_died_while_cancelling_is_finished_as_cancelled(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job whose worker rendered one variation, was asked to cancel, and died
    # leaving a partial file behind
    received = await upload_job(services, [tiny_clips.mp4], variations=3)
    job_id, file_id = received.job_id, received.files[0].file_id
    data_dir = services.settings.data_dir
    done = builders.variation_rendered(job_id, file_id, 1)
    (data_dir / done.key).parent.mkdir(parents=True, exist_ok=True)
    (data_dir / done.key).write_bytes(b"\x00" * done.size)
    leftover = data_dir / "outputs" / str(job_id) / str(file_id) / "v02-a1.mp4.partial"
    leftover.write_bytes(b"half a video")
    await services.store.append(
        job_stream(job_id),
        [
            builders.new(builders.processing_started(job_id)),
            builders.new(done),
            builders.new(builders.cancellation_requested(job_id)),
        ],
        1,
    )
    # When a worker comes by
    async with worker_running(services):
        job = await finished(services, job_id, within=30)
    # Then it is cancelled with only the output recorded before, and nothing more rendered
    assert job.status == "cancelled" and job.outcome == "cancelled"
    assert [(o.file_id, o.variation_index) for o in job.outputs] == [(file_id, 1)]
    assert types_of(await events_of(services, job_id)) == [
        "UploadReceived",
        "ProcessingStarted",
        "VariationRendered",
        "CancellationRequested",
        "ProcessingStarted",
        "ProcessingFinished",
    ]
    # And the dead attempt's partial file is gone
    assert files_under(data_dir / "outputs" / str(job_id)) == {done.key}
