"""Cancel mid-render with the worker in another process: its ffmpeg is gone within 1 s of
the request, no partial file is left, and the ZIP holds exactly what was rendered before."""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from service.events.job import job_stream
from service.http.keys import SERVICES
from service.settings import Settings
from tests.clips import TinyClips
from tests.http.upload_support import field, multipart, video
from tests.processing.support import files_under, recorded_paths
from tests.processing.test_worker_recovery import ffmpeg_working_on
from tests.processing.worker_process import worker_process
from tests.support import eventually

CANCEL_WITHIN_S = 1.0


def partials(folder: Path, job_id: uuid.UUID) -> list[Path]:
    """Renders in progress: the worker writes them in its scratch folder, one per job."""
    found = folder.rglob("*.partial") if folder.exists() else []
    return [p for p in found if str(job_id) in p.parts]


async def test_cancel_mid_render_kills_ffmpeg_in_another_process_and_keeps_what_was_rendered(
    client: Any,
    settings: Settings,
    database_url: str,
    alice_headers: dict[str, str],
    tiny_clips: TinyClips,
    long_clip: Path,
) -> None:
    services = client.app[SERVICES]
    # Given a worker in its own process, and a job of a tiny clip and a long one, 2 each
    body, content_type = multipart(
        video("quick.mp4", tiny_clips.mp4),
        video("slow.mp4", long_clip),
        field("variations", "2"),
    )
    async with worker_process(database_url, settings.data_dir):
        created = await client.post(
            "/api/jobs", data=body, headers={**alice_headers, **content_type}
        )
        assert created.status == 202
        job_id = uuid.UUID((await created.json())["job_id"])
        outputs = settings.data_dir / "outputs" / str(job_id)

        # When the tiny clip's variations are done and the long clip's first is rendering
        async def slow_one_rendering() -> bool:
            job = await services.jobs.get(job_id)
            done = job is not None and len(job.outputs) == 2
            return (
                done
                and bool(partials(settings.scratch_dir, job_id))
                and bool(ffmpeg_working_on(job_id))
            )

        await eventually(slow_one_rendering, within=120)
        started = time.monotonic()
        response = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
        assert response.status == 202, await response.text()
        assert (await response.json())["status"] == "cancelling"
        # Then within 1 s no ffmpeg works on the job and its partial file is gone
        await eventually(
            lambda: not ffmpeg_working_on(job_id) and not partials(settings.scratch_dir, job_id),
            within=5,
        )
        stopped_after = time.monotonic() - started
        assert stopped_after < CANCEL_WITHIN_S, stopped_after

        # And the worker ends the job as cancelled, recording what it had rendered
        async def status() -> Any:
            job = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
            return job if job["status"] == "cancelled" else None

        await eventually(status, within=30)
    job = await status()
    assert job["outcome"] == "cancelled"
    quick, slow = job["files"]
    assert (quick["status"], slow["status"]) == ("rendered", "cancelled")
    assert [(o["file_id"], o["variation_index"]) for o in job["outputs"]] == [
        (quick["id"], 1),
        (quick["id"], 2),
    ]
    events = await services.store.read_stream(job_stream(job_id))
    assert [e.type for e in events].count("ProcessingFinished") == 1
    assert events[-1].type == "ProcessingFinished" and events[-1].event.outcome == "cancelled"
    # And the folder holds exactly the recorded outputs
    state = await services.jobs.get(job_id)
    assert files_under(outputs) == recorded_paths(state)
    # And the ZIP holds exactly those variations
    download = await client.get(f"/api/jobs/{job_id}/download", headers=alice_headers)
    assert download.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await download.read()))
    assert archive.namelist() == ["quick/quick_var01.mp4", "quick/quick_var02.mp4"]
    assert archive.testzip() is None
