"""Metric values follow what really happened to a job: its upload, claim, renders, finish
and download."""

from __future__ import annotations

from typing import Any

from service.clock import SystemClock
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.clips import TinyClips
from tests.http.upload_support import FTYP_MP4, field, multipart, video
from tests.metrics.support import scrape, value
from tests.support import eventually

COUNTERS = [
    ("vr_render_duration_seconds_count", {}),
    ("vr_job_claim_wait_seconds_count", {}),
    ("vr_job_duration_seconds_count", {"outcome": "completed"}),
    ("vr_events_appended_total", {"type": "VariationRendered"}),
    ("vr_events_appended_total", {"type": "UploadReceived"}),
    ("vr_upload_bytes_total", {}),
    ("vr_download_requests_total", {"status": "200"}),
    ("vr_download_requests_total", {"status": "206"}),
    ("vr_download_requests_total", {"status": "404"}),
    ("vr_download_resumes_total", {}),
    ("vr_download_bytes_total", {}),
]


async def test_a_completed_job_moves_the_job_render_and_download_metrics(
    aiohttp_client: Any, settings: Settings, tiny_clips: TinyClips
) -> None:
    # Given the service with every role and a signed-in user
    app = create_app(settings.model_copy(update={"role": Role.ALL}), clock=SystemClock())
    client = await aiohttp_client(app)
    await make_user(client.app[SERVICES].database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    before = await scrape(client)

    # When she uploads one video asking for 2 variations, and the worker completes it
    clip = tiny_clips.mp4.read_bytes()
    body, content_type = multipart(video("ad.mp4", clip), field("variations", "2"))
    created = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    assert created.status == 202
    job_id = (await created.json())["job_id"]

    async def completed() -> bool:
        response = await client.get(f"/api/jobs/{job_id}", headers=headers)
        return (await response.json())["status"] == "completed"

    await eventually(completed, within=120)
    # And downloads it whole, resumes it from the middle, and asks for an unknown job
    whole = await client.get(f"/api/jobs/{job_id}/download", headers=headers)
    size = len(await whole.read())
    ranged = await client.get(
        f"/api/jobs/{job_id}/download", headers={**headers, "Range": f"bytes={size // 2}-"}
    )
    assert ranged.status == 206 and len(await ranged.read()) == size - size // 2
    unknown = "00000000-0000-0000-0000-000000000000"
    assert (await client.get(f"/api/jobs/{unknown}/download", headers=headers)).status == 404

    # Then each metric moved by exactly what happened
    after = await scrape(client)
    moved = {
        (name, tuple(labels.values())): value(after, name, **labels) - value(before, name, **labels)
        for name, labels in COUNTERS
    }
    assert moved == {
        ("vr_render_duration_seconds_count", ()): 2,  # one observation per variation
        ("vr_job_claim_wait_seconds_count", ()): 1,
        ("vr_job_duration_seconds_count", ("completed",)): 1,
        ("vr_events_appended_total", ("VariationRendered",)): 2,
        ("vr_events_appended_total", ("UploadReceived",)): 1,
        ("vr_upload_bytes_total", ()): len(clip),
        ("vr_download_requests_total", ("200",)): 1,
        ("vr_download_requests_total", ("206",)): 1,
        ("vr_download_requests_total", ("404",)): 1,
        ("vr_download_resumes_total", ()): 1,
        ("vr_download_bytes_total", ()): size + size - size // 2,
    }
    assert value(after, "vr_render_duration_seconds_sum") > value(
        before, "vr_render_duration_seconds_sum"
    )
    # And the job view's figures, read at the scrape, count it as completed
    assert value(after, "vr_jobs", status="completed") == 1
    assert value(after, "vr_uploads_in_progress") == 0


async def test_a_file_that_cannot_be_decoded_counts_as_a_failure_by_reason(
    aiohttp_client: Any, settings: Settings
) -> None:
    # Given the service with every role and a signed-in user
    app = create_app(settings.model_copy(update={"role": Role.ALL}), clock=SystemClock())
    client = await aiohttp_client(app)
    await make_user(client.app[SERVICES].database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    before = await scrape(client)
    # When she uploads something that looks like an MP4 but is not a video, and it fails
    body, content_type = multipart(video("broken.mp4", FTYP_MP4 + b"\0" * 4096))
    created = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    job_id = (await created.json())["job_id"]

    async def failed() -> bool:
        response = await client.get(f"/api/jobs/{job_id}", headers=headers)
        return (await response.json())["status"] == "failed"

    await eventually(failed, within=60)
    # Then the failure is counted by its reason class, and the job's duration by outcome
    after = await scrape(client)
    for name, labels in (
        ("vr_job_failures_total", {"reason": "unreadable_video"}),
        ("vr_job_duration_seconds_count", {"outcome": "failed"}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) + 1, name
