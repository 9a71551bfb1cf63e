"""The worker against real PostgreSQL and real ffmpeg: jobs are claimed once, rendered into
playable, distinct variations whose sizes and CRCs the log records truly, and failures
stay confined to the file that failed."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import zlib

import pytest

from service.bootstrap import Services
from service.clock import SystemClock
from service.errors import WrongExpectedVersion
from service.events.base import NewEvent
from service.events.job import EffectParameters, VariationRendered, job_stream
from service.processing.claim import MAX_ATTEMPTS, claim_as_of, claim_job, gave_up_reason
from service.processing.effects import BRIGHTNESS, CONTRAST, ROTATION_RAD, SATURATION
from service.processing.job_runner import AttemptFenced, JobRunner, RenderSettings
from service.processing.plan import plan_variations
from service.processing.scratch import Scratch
from service.projections.job_state import fold
from tests.builders import processing_started
from tests.clips import TinyClips
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
from tests.processing.test_render import decode_errors, header_of
from tests.support import eventually


async def test_a_two_video_job_completes_with_six_playable_distinct_variations(
    services: Services, tiny_clips: TinyClips, ffmpeg: str
) -> None:
    # Given a job of two videos (MP4 and MOV) asking for 3 variations each
    received = await upload_job(services, [tiny_clips.mp4, tiny_clips.mov], variations=3)

    # When a worker runs
    async with worker_running(services):
        job = await finished(services, received.job_id)

    # Then the job completed with 6 outputs, 3 per upload, in upload then index order
    assert job.status == "completed" and job.outcome == "completed" and not job.errors
    assert [(o.file_id, o.variation_index) for o in job.outputs] == [
        (f.file_id, i) for f in received.files for i in (1, 2, 3)
    ]
    data_dir = services.settings.data_dir
    for output in job.outputs:
        content = (data_dir / output.key).read_bytes()
        # recorded size and CRC-32 are those of the file on disk
        assert output.size == len(content)
        assert output.crc32 == zlib.crc32(content)
        # every output decodes cleanly as H.264 yuv420p
        assert decode_errors(ffmpeg, data_dir / output.key) == (0, "")
        header = header_of(ffmpeg, data_dir / output.key)
        assert "h264" in header and "yuv420p" in header
    # and the six effect combinations differ, each within its subtle range
    effects = [o.effects for o in job.outputs]
    assert len({e.model_dump_json() for e in effects}) == 6
    for e in effects:
        assert ROTATION_RAD[0] <= abs(e.rotation_rad) <= ROTATION_RAD[1]
        assert BRIGHTNESS[0] <= e.brightness <= BRIGHTNESS[1]
        assert CONTRAST[0] <= e.contrast <= CONTRAST[1]
        assert SATURATION[0] <= e.saturation <= SATURATION[1]
    # and the log tells it once: one claim, six renders, one finish
    assert types_of(await events_of(services, received.job_id)) == [
        "UploadReceived",
        "ProcessingStarted",
        *["VariationRendered"] * 6,
        "ProcessingFinished",
    ]
    # and nothing but the recorded outputs lies in the job's output folder
    # besides one JPEG thumbnail (320 px wide) of each source and each output, named in the log
    thumbnails = [f.thumbnail for f in job.files] + [o.thumbnail for o in job.outputs]
    for t in thumbnails:
        assert t is not None
        jpeg = (data_dir / t.key).read_bytes()
        assert jpeg[:3] == b"\xff\xd8\xff" and len(jpeg) == t.size
        assert hashlib.sha256(jpeg).hexdigest() == t.sha256
        assert "320x240" in header_of(ffmpeg, data_dir / t.key)
    assert files_under(data_dir / "outputs" / str(received.job_id)) == recorded_paths(job)


async def test_a_jobs_effects_are_pinned_by_its_id(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job whose id a test chooses
    job_id = uuid.UUID("00000000-0000-4000-8000-000000000042")
    await upload_job(services, [tiny_clips.mp4], variations=2, job_id=job_id)

    # When it is rendered
    async with worker_running(services):
        job = await finished(services, job_id)

    # Then its effects are exactly the plan drawn from that id
    assert [o.effects.model_dump() for o in job.outputs] == [
        v.effects.model_dump() for v in plan_variations(job)
    ]


async def test_a_corrupt_upload_fails_only_its_own_file_and_the_job_is_partial(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job with a good clip and one that looks like MP4 but decodes as nothing
    received = await upload_job(services, [tiny_clips.corrupt, tiny_clips.mp4], variations=2)
    corrupt, good = received.files

    # When a worker runs
    async with worker_running(services):
        job = await finished(services, received.job_id)

    # Then the good file was rendered in full and the job is partial
    assert job.status == "partial"
    assert [(o.file_id, o.variation_index) for o in job.outputs] == [
        (good.file_id, 1),
        (good.file_id, 2),
    ]
    # and the corrupt file alone failed, with ffmpeg's reason
    assert [e.file_id for e in job.errors] == [corrupt.file_id]
    assert job.errors[0].message.strip()
    states = {f.file_id: f.status for f in job.files}
    assert states == {corrupt.file_id: "failed", good.file_id: "rendered"}


async def test_a_job_with_nothing_renderable_fails_with_each_files_reason(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job whose uploads are a corrupt video and an audio-only file
    received = await upload_job(services, [tiny_clips.corrupt, tiny_clips.audio_only])

    # When a worker runs
    async with worker_running(services):
        job = await finished(services, received.job_id)

    # Then it failed, rendered nothing, and says why for each file
    assert job.status == "failed" and not job.outputs
    assert [e.file_id for e in job.errors] == [f.file_id for f in received.files]
    assert "no video stream" in job.errors[1].message


async def test_two_workers_racing_for_one_job_render_it_once(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given one job and two workers polling for work at the same moment
    received = await upload_job(services, [tiny_clips.mp4], variations=2)
    first, second = make_worker(services), make_worker(services)

    # When both run until the job is done
    async with worker_running(services, first, second):
        job = await finished(services, received.job_id)

    # Then exactly one claimed it and each variation was rendered once
    assert job.status == "completed"
    events = await events_of(services, received.job_id)
    assert types_of(events).count("ProcessingStarted") == 1
    rendered = [e.event for e in events if isinstance(e.event, VariationRendered)]
    assert sorted(r.variation_index for r in rendered) == [1, 2]


async def test_a_reclaimed_job_renders_only_what_is_missing_and_removes_leftovers(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job whose first attempt recorded variation 1, then died while it had an
    # unrecorded finished render and a partial file on disk
    received = await upload_job(services, [tiny_clips.mp4], variations=3)
    job_id, file_id = received.job_id, received.files[0].file_id
    data_dir = services.settings.data_dir
    folder = data_dir / "outputs" / str(job_id) / str(file_id)
    folder.mkdir(parents=True)
    kept = folder / "v01-a1.mp4"
    kept.write_bytes(b"first attempt's output")
    (folder / "v02-a1.mp4").write_bytes(b"rendered, never recorded")
    (folder / "v03-a1.mp4.partial").write_bytes(b"half written")
    first = VariationRendered(
        job_id=job_id,
        file_id=file_id,
        variation_index=1,
        key=f"outputs/{job_id}/{file_id}/v01-a1.mp4",
        size=kept.stat().st_size,
        crc32=zlib.crc32(kept.read_bytes()),
        effects=EffectParameters(
            **plan_variations(fold(await events_of(services, job_id)))[0].effects.model_dump()
        ),
        rendered_at=received.received_at,
    )
    await services.store.append(
        job_stream(job_id),
        [NewEvent.of(processing_started(job_id, attempt=1)), NewEvent.of(first)],
        1,
    )

    # When a worker finds it processing with no live lease
    async with worker_running(services):
        job = await finished(services, job_id)

    # Then it claimed attempt 2, kept variation 1, rendered 2 and 3 once each
    assert job.status == "completed" and job.attempt == 2
    assert [(o.variation_index, o.key.rsplit("/", 1)[1]) for o in job.outputs] == [
        (1, "v01-a1.mp4"),
        (2, "v02-a2.mp4"),
        (3, "v03-a2.mp4"),
    ]
    assert kept.read_bytes() == b"first attempt's output"
    # and the unrecorded leftovers of attempt 1 are gone
    assert files_under(data_dir / "outputs" / str(job_id)) == recorded_paths(job)


async def test_a_job_whose_worker_died_three_times_finishes_as_failed(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a job that three attempts claimed and none finished
    received = await upload_job(services, [tiny_clips.mp4])
    job_id = received.job_id
    await services.store.append(
        job_stream(job_id),
        [NewEvent.of(processing_started(job_id, attempt=n)) for n in range(1, MAX_ATTEMPTS + 1)],
        1,
    )

    # When a worker finds it with no live lease
    async with worker_running(services):
        job = await finished(services, job_id)

    # Then it is failed with the reason, and no fourth attempt began
    assert job.status == "failed" and not job.outputs
    assert job.finish_reason == gave_up_reason(MAX_ATTEMPTS)
    events = await events_of(services, job_id)
    assert types_of(events).count("ProcessingStarted") == MAX_ATTEMPTS


async def test_a_claim_made_from_a_stale_read_loses_to_the_claim_that_moved_the_stream(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given two workers that both read the received job at the same version
    received = await upload_job(services, [tiny_clips.mp4])
    stream = job_stream(received.job_id)
    seen_by_a = fold(await services.store.read_stream(stream))
    seen_by_b = fold(await services.store.read_stream(stream))
    assert seen_by_a is not None and seen_by_b is not None

    # When both claim it, one after the other
    won = await claim_as_of(services.store, seen_by_a, worker="a", now=received.received_at)
    with pytest.raises(WrongExpectedVersion):
        await claim_as_of(services.store, seen_by_b, worker="b", now=received.received_at)

    # Then only the first holds a claim: attempt 1, and the log has one ProcessingStarted
    assert won is not None and won.attempt == 1
    events = await events_of(services, received.job_id)
    assert types_of(events) == ["UploadReceived", "ProcessingStarted"]


async def test_a_new_job_is_claimed_as_soon_as_the_job_view_has_it_not_at_the_next_poll(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given an idle worker that polls only every 30 s
    worker = make_worker(services, poll_interval_s=30)
    async with worker_running(services, worker):
        await asyncio.sleep(0.2)  # its first round found nothing

        # When a job arrives
        received = await upload_job(services, [tiny_clips.mp4], variations=1)

        # Then it is claimed within moments
        async def claimed() -> bool:
            return "ProcessingStarted" in types_of(await events_of(services, received.job_id))

        await eventually(claimed, within=5)


async def test_an_overtaken_attempt_stops_and_removes_the_render_it_could_not_record(
    services: Services, tiny_clips: TinyClips, ffmpeg: str
) -> None:
    # Given attempt 1 claimed a job, then lost it: another worker began attempt 2
    received = await upload_job(services, [tiny_clips.mp4], variations=2)
    job_id = received.job_id
    claim = await claim_job(services.store, job_id, worker="a", now=received.received_at)
    assert claim is not None
    await services.store.append(
        job_stream(job_id), [NewEvent.of(processing_started(job_id, attempt=2))], claim.job.version
    )

    # When attempt 1 renders its first variation and tries to record it
    data_dir = services.settings.data_dir
    scratch = Scratch(services.settings.scratch_dir)
    runner = JobRunner(
        services.store, services.storage, RenderSettings(ffmpeg, scratch, None, "a"), SystemClock()
    )
    with pytest.raises(AttemptFenced):
        await runner.run(claim)

    # Then it recorded nothing and left no file behind
    events = await events_of(services, job_id)
    assert types_of(events) == ["UploadReceived", "ProcessingStarted", "ProcessingStarted"]
    assert files_under(data_dir / "outputs" / str(job_id)) == set()


async def test_a_failing_round_delays_the_worker_but_never_ends_it(
    services: Services, tiny_clips: TinyClips
) -> None:
    # Given a running worker whose rounds fail: the job view is briefly unavailable
    pool = services.database.pool
    async with worker_running(services, make_worker(services)):
        await pool.execute("ALTER TABLE job_view RENAME TO job_view_away")
        received = await upload_job(services, [tiny_clips.mp4], variations=1)
        await asyncio.sleep(0.3)  # several failed rounds

        # When the view is back
        await pool.execute("ALTER TABLE job_view_away RENAME TO job_view")

        # Then the same worker renders the job
        job = await finished(services, received.job_id)
    assert job.status == "completed"
