"""The whole product in one process: sign in, upload two videos, let the real worker
render them with ffmpeg, download one STORE ZIP of every variation, and see the uploads
purged once processing ended."""

from __future__ import annotations

import io
import uuid
import zipfile
import zlib
from typing import Any

from service.clock import SystemClock
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.clips import TinyClips
from tests.http.upload_support import field, multipart, video
from tests.support import eventually


async def test_an_upload_is_rendered_by_the_worker_and_downloads_as_one_zip(
    aiohttp_client: Any, settings: Settings, tiny_clips: TinyClips
) -> None:
    # Given the service with every role, and a signed-in user
    app = create_app(settings.model_copy(update={"role": Role.ALL}), clock=SystemClock())
    client = await aiohttp_client(app)
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))

    # When she uploads two videos asking for 3 variations of each
    body, content_type = multipart(
        video("summer ad.mp4", tiny_clips.mp4),
        video("winter ad.mov", tiny_clips.mov),
        field("variations", "3"),
    )
    created = await client.post("/api/jobs", data=body, headers={**headers, **content_type})
    assert created.status == 202
    job_id = (await created.json())["job_id"]

    # Then the worker completes the job
    async def status() -> str:
        response = await client.get(f"/api/jobs/{job_id}", headers=headers)
        return str((await response.json())["status"])

    await eventually(lambda: _is(status(), "completed"), within=120)

    # And the download is a STORE ZIP with one folder per video, 3 variations in each,
    # whose bytes are exactly the rendered files the log records
    response = await client.get(f"/api/jobs/{job_id}/download", headers=headers)
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert archive.testzip() is None
    assert archive.namelist() == [
        f"{stem}/{stem}_var{n:02d}.mp4" for stem in ("summer ad", "winter ad") for n in (1, 2, 3)
    ]
    job = await services.jobs.get(uuid.UUID(job_id))
    for info, output in zip(archive.infolist(), job.outputs, strict=True):
        on_disk = (settings.data_dir / output.key).read_bytes()
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == on_disk
        assert info.CRC == output.crc32 == zlib.crc32(on_disk)

    # And the uploads are purged now that processing has ended
    async def purged() -> bool:
        response = await client.get(f"/api/jobs/{job_id}", headers=headers)
        return bool((await response.json())["uploads_purged"])

    await eventually(purged, within=30)
    assert not (settings.uploads_dir / job_id).exists()


async def _is(awaitable: Any, expected: str) -> bool:
    return await awaitable == expected
