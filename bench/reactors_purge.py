"""How fast the upload purger drains a backlog of finished jobs.

Creates a throw-away database on the server named by VR_DATABASE_URL (or an embedded
one), writes JOBS finished jobs with two 64 KiB uploads each, starts the purger from
an empty checkpoint and prints how long it takes until every job has UploadsPurged.

    VR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        python bench/reactors_purge.py [JOBS]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.bootstrap import running_services
from service.events.base import NewEvent
from service.events.job import ProcessingFinished, job_stream
from service.events.store import NO_STREAM
from service.reactors.file_reactor import FileReactor
from service.reactors.upload_purger import UploadPurge
from service.settings import Settings

UPLOAD_BYTES = 64 * 1024


async def main(jobs: int) -> None:
    from tests.reactors.builders import write_uploads  # real files, recorded sizes

    server = os.environ.get("VR_DATABASE_URL")
    if not server:
        raise SystemExit("set VR_DATABASE_URL to a PostgreSQL server you may create databases on")
    name = f"vr_bench_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
            settings = Settings(database_url=url, data_dir=Path(tmp), poll_interval_s=0.05)
            async with running_services(settings, with_components=False) as services:
                for _ in range(jobs):
                    received = write_uploads(settings.data_dir, (UPLOAD_BYTES, UPLOAD_BYTES))
                    finished = ProcessingFinished(
                        job_id=received.job_id, outcome="failed", finished_at=received.received_at
                    )
                    await services.store.append(
                        job_stream(received.job_id),
                        [NewEvent.of(received), NewEvent.of(finished)],
                        NO_STREAM,
                    )
                purger = FileReactor(
                    UploadPurge(),
                    store=services.store,
                    database=services.database,
                    data_dir=settings.data_dir,
                    poll_interval_s=0.05,
                )
                count = "SELECT count(*) FROM events WHERE type = 'UploadsPurged'"
                started = time.perf_counter()
                task = asyncio.create_task(purger.run())
                # Polling the log every 10 ms is the measurement; it adds at most 10 ms.
                while await services.database.pool.fetchval(count) < jobs:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                elapsed = time.perf_counter() - started
                purger.stop()
                await task
        print(
            f"purged {jobs} jobs ({2 * jobs} files, {2 * jobs * UPLOAD_BYTES / 2**20:.1f} MiB)"
            f" in {elapsed:.2f} s: {jobs / elapsed:.0f} jobs/s, {elapsed / jobs * 1000:.2f} ms/job"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
