"""Real tus clients end to end: one video sent by tuspy (in chunks, with checksums), one
by curl; a job made of the two renders and downloads exactly like a multipart one."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

from tusclient.client import TusClient

from service.clock import SystemClock
from service.events.job import UploadReceived
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.clips import TinyClips
from tests.support import eventually


def tuspy_upload(url: str, token: str, path: Path) -> str:
    """tuspy's blocking uploader (run in a thread): 16 KiB chunks, sha1 checksums."""
    uploader = TusClient(url, headers={"Authorization": f"Bearer {token}"}).uploader(
        file_path=str(path),
        chunk_size=16 * 1024,
        upload_checksum=True,
        metadata={"filename": "summer ad.mp4", "filetype": "video/mp4"},
    )
    uploader.upload()
    return str(uploader.url)


async def curl(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "curl",
        "-sS",
        "--fail-with-body",
        "-D",
        "-",
        "-o",
        "/dev/null",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (out, err)
    return out.decode()


def header(response_head: str, name: str) -> str:
    for line in response_head.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    raise AssertionError(f"no {name} in {response_head!r}")


async def curl_upload(base: str, token: str, path: Path) -> str:
    """The protocol as a shell user would drive it: POST, then one PATCH of the file."""
    size = len(await asyncio.to_thread(path.read_bytes))
    auth = ["-H", f"Authorization: Bearer {token}", "-H", "Tus-Resumable: 1.0.0"]
    created = await curl(
        "-X",
        "POST",
        f"{base}/api/uploads",
        *auth,
        "-H",
        f"Upload-Length: {size}",
        "-H",
        "Upload-Metadata: filename d2ludGVyIGFkLm1vdg==",  # "winter ad.mov"
    )
    location = base + header(created, "Location")
    patched = await curl(
        "-X",
        "PATCH",
        location,
        *auth,
        "-H",
        "Upload-Offset: 0",
        "-H",
        "Content-Type: application/offset+octet-stream",
        "--data-binary",
        f"@{path}",
    )
    assert header(patched, "Upload-Offset") == str(size)
    return location


async def test_a_job_of_tuspy_and_curl_uploads_renders_and_downloads_like_multipart(
    aiohttp_client: Any, settings: Settings, tiny_clips: TinyClips
) -> None:
    # Given the service with every role, and a signed-in user
    app = create_app(settings.model_copy(update={"role": Role.ALL}), clock=SystemClock())
    client = await aiohttp_client(app)
    services = client.app[SERVICES]
    await make_user(services.database.pool, "alice")
    token = await log_in(client, "alice")
    base = str(client.make_url("")).rstrip("/")
    # When one video goes up by tuspy and the other by curl
    first = await asyncio.to_thread(tuspy_upload, f"{base}/api/uploads", token, tiny_clips.mp4)
    second = await curl_upload(base, token, tiny_clips.mov)
    # And she makes a job of the two, 2 variations each
    ids = [u.rsplit("/", 1)[1] for u in (first, second)]
    created = await client.post(
        "/api/jobs", json={"uploads": ids, "variations": 2}, headers=bearer(token)
    )
    assert created.status == 202, await created.text()
    job_id = (await created.json())["job_id"]
    # Then the log has each source's exact size and SHA-256
    [recorded] = await services.store.read_stream(f"job-{job_id}")
    assert isinstance(recorded.event, UploadReceived)
    sources = (tiny_clips.mp4.read_bytes(), tiny_clips.mov.read_bytes())
    assert [(f.name, f.size, f.sha256) for f in recorded.event.files] == [
        (name, len(data), hashlib.sha256(data).hexdigest())
        for name, data in zip(("summer ad.mp4", "winter ad.mov"), sources, strict=True)
    ]

    # And the worker completes it, and the download is the usual ZIP
    async def completed() -> bool:
        response = await client.get(f"/api/jobs/{job_id}", headers=bearer(token))
        return (await response.json())["status"] == "completed"

    await eventually(completed, within=120)
    response = await client.get(f"/api/jobs/{job_id}/download", headers=bearer(token))
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    assert archive.testzip() is None
    assert archive.namelist() == [
        f"{stem}/{stem}_var{n:02d}.mp4" for stem in ("summer ad", "winter ad") for n in (1, 2)
    ]

    # And the uploads are purged once processing has ended, as for multipart
    async def purged() -> bool:
        response = await client.get(f"/api/jobs/{job_id}", headers=bearer(token))
        return bool((await response.json())["uploads_purged"])

    await eventually(purged, within=30)
    assert not (settings.uploads_dir / job_id).exists()
    assert list(settings.tus_dir.iterdir()) == []
