"""Workers on many machines: the API in one process and two workers in two others, each
with a data directory of its own (no shared disk at all), one database and one bucket."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import aiohttp

from service.settings import Settings
from tests.cli.test_commands import ROOT, cli_env, free_port, wait_for_json
from tests.clips import TinyClips
from tests.http.upload_support import field, multipart, video
from tests.storage.test_s3_lifecycle import local_files
from tests.support import eventually


async def start(settings: Settings, role: str, data_dir: Path, port: int) -> Any:
    env = cli_env(
        VR_DATABASE_URL=str(settings.database_url),
        VR_DATA_DIR=str(data_dir),
        VR_ROLE=role,
        VR_PORT=str(port),
        VR_POLL_INTERVAL_S="0.05",
        VR_STORAGE_URL=str(settings.storage_url),
        VR_S3_ENDPOINT=str(settings.s3_endpoint),
        VR_S3_REGION="us-east-1",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_an_api_and_two_workers_with_no_shared_disk_render_a_job_end_to_end(
    s3_settings: Settings, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # Given the API and two workers, three processes with three data directories
    from service.db.database import open_database
    from tests.accounts.support import PASSWORD, make_user

    async with open_database(s3_settings, migrate_schema=True) as database:
        await make_user(database.pool, "alice")
    dirs = {name: tmp_path / name for name in ("api", "worker-1", "worker-2")}
    api_port = free_port()
    processes = [await start(s3_settings, "api", dirs["api"], api_port)]
    processes += [
        await start(s3_settings, "worker", dirs[w], free_port()) for w in ("worker-1", "worker-2")
    ]
    base = f"http://127.0.0.1:{api_port}"
    try:
        await asyncio.to_thread(wait_for_json, f"{base}/healthz", 60)
        async with aiohttp.ClientSession(base) as http:
            login = await http.post(
                "/api/auth/login", json={"username": "alice", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {(await login.json())['token']}"}
            # When a job is uploaded to the API
            body, content_type = multipart(
                video("a.mp4", tiny_clips.mp4),
                video("b.mov", tiny_clips.mov),
                field("variations", "2"),
            )
            created = await http.post("/api/jobs", data=body, headers={**headers, **content_type})
            assert created.status == 202, await created.text()
            job_id = uuid.UUID((await created.json())["job_id"])

            # Then a worker on another "machine" renders it
            async def completed() -> bool:
                job = await (await http.get(f"/api/jobs/{job_id}", headers=headers)).json()
                return bool(job["status"] == "completed")

            await eventually(completed, within=180)
            # And the API serves the ZIP of its four outputs from the bucket
            response = await http.get(f"/api/jobs/{job_id}/download", headers=headers)
            archive = zipfile.ZipFile(io.BytesIO(await response.read()))
            assert archive.testzip() is None and len(archive.namelist()) == 4
        # And no process kept a file of the job on its own disk
        for data_dir in dirs.values():
            assert local_files(data_dir) == [], data_dir
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
