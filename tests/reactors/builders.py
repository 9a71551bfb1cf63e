"""Builders for reactor tests: jobs whose uploads and outputs are real files under the
data directory, appended straight to the log, and a job view caught up on demand."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from service.bootstrap import Services
from service.events.base import Event, EventMetadata, NewEvent, RecordedEvent
from service.events.job import (
    EffectParameters,
    Outcome,
    ProcessingFinished,
    ProcessingStarted,
    StoredUpload,
    UploadReceived,
    VariationRendered,
    job_stream,
)
from service.events.log_reader import Checkpoint, read_all
from service.events.store import ANY, NO_STREAM
from service.projections import checkpoints, job_view
from tests.builders import T0


@dataclass
class Job:
    """A job on disk and in the log."""

    received: UploadReceived
    outputs: list[VariationRendered] = field(default_factory=list)

    @property
    def job_id(self) -> uuid.UUID:
        return self.received.job_id

    @property
    def stream(self) -> str:
        return job_stream(self.job_id)

    def upload_paths(self, data_dir: Path) -> list[Path]:
        return [data_dir / f.key for f in self.received.files]

    def output_paths(self, data_dir: Path) -> list[Path]:
        return [data_dir / o.key for o in self.outputs]


def write_uploads(
    data_dir: Path,
    sizes: Sequence[int] = (1000, 2000),
    *,
    received_at: datetime = T0,
    retention: timedelta = timedelta(hours=24),
) -> UploadReceived:
    """Real upload files at `uploads/<job>/<file-id>.mp4`, recorded with their sizes."""
    job_id = uuid.uuid4()
    files = []
    for index, size in enumerate(sizes):
        file_id = uuid.uuid4()
        relative = f"uploads/{job_id}/{file_id}.mp4"
        content = bytes([index % 256]) * size
        path = data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        files.append(
            StoredUpload(
                file_id=file_id,
                name=f"clip{index}.mp4",
                size=size,
                sha256=hashlib.sha256(content).hexdigest(),
                key=relative,
            )
        )
    return UploadReceived(
        job_id=job_id,
        owner_id=uuid.uuid4(),
        variations_per_video=2,
        files=tuple(files),
        received_at=received_at,
        expires_at=received_at + retention,
    )


def write_output(
    data_dir: Path, job_id: uuid.UUID, file_id: uuid.UUID, index: int, size: int
) -> VariationRendered:
    """A real output file at `outputs/<job>/<file-id>/<index>.mp4` and its event."""
    relative = f"outputs/{job_id}/{file_id}/{index:02d}.mp4"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00" * size)
    return VariationRendered(
        job_id=job_id,
        file_id=file_id,
        variation_index=index,
        key=relative,
        size=size,
        crc32=0,
        effects=EffectParameters(rotation_rad=0.0, brightness=0.0, contrast=1.0, saturation=1.0),
        rendered_at=T0,
    )


async def append(services: Services, job: Job, *events: Event) -> None:
    stream = job.stream
    expected = NO_STREAM if await services.store.stream_version(stream) == 0 else ANY
    await services.store.append(
        stream, [NewEvent.of(e, metadata=EventMetadata(actor="test")) for e in events], expected
    )


async def received_job(
    services: Services,
    sizes: Sequence[int] = (1000, 2000),
    *,
    received_at: datetime = T0,
    retention: timedelta = timedelta(hours=24),
) -> Job:
    job = Job(
        write_uploads(
            services.settings.data_dir, sizes, received_at=received_at, retention=retention
        )
    )
    await append(services, job, job.received)
    return job


async def processing_job(services: Services, **kwargs: object) -> Job:
    job = await received_job(services, **kwargs)  # type: ignore[arg-type]
    await append(
        services,
        job,
        ProcessingStarted(job_id=job.job_id, attempt=1, worker="test", started_at=T0),
    )
    return job


async def finished_job(
    services: Services,
    outcome: Outcome = "completed",
    *,
    output_size: int = 500,
    finished_at: datetime = T0,
    **kwargs: object,
) -> Job:
    """Started, rendered (every file for completed, the first for partial, none for
    failed) and finished with `outcome`; uploads and outputs are real files."""
    job = await processing_job(services, **kwargs)
    files = job.received.files
    rendered = {"completed": files, "partial": files[:1], "failed": (), "cancelled": files[:1]}[
        outcome
    ]
    data_dir = services.settings.data_dir
    job.outputs = [
        write_output(data_dir, job.job_id, f.file_id, index, output_size)
        for f in rendered
        for index in (1, 2)
    ]
    finished = ProcessingFinished(job_id=job.job_id, outcome=outcome, finished_at=finished_at)
    await append(services, job, *job.outputs, finished)
    return job


async def events_of(services: Services, job: Job, event_type: str) -> list[RecordedEvent]:
    return [e for e in await services.store.read_stream(job.stream) if e.type == event_type]


async def project(services: Services) -> None:
    """Bring the job view up to the head of the log, as its runner would.

    Readers only see transactions older than every one in flight on the server, and a
    shared test server may have an unrelated transaction open: wait until all is seen.
    """
    pool = services.database.pool
    target = await head(services)
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        async with pool.acquire() as conn, conn.transaction():
            checkpoint = await checkpoints.load(conn, job_view.NAME)
            await checkpoints.lock(conn, job_view.NAME)
            events = [e async for e in read_all(conn, checkpoint)]
            if events:
                await job_view.JobViewProjection().handle(conn, events)
                checkpoint = Checkpoint.of(events[-1])
                await checkpoints.store(conn, job_view.NAME, checkpoint)
        if checkpoint >= target:
            return
        assert asyncio.get_running_loop().time() < deadline, "the log stayed invisible for 30 s"
        await asyncio.sleep(0.02)


async def head(services: Services) -> Checkpoint:
    """The last committed event's place in commit order."""
    row = await services.database.pool.fetchrow(
        "SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC"
        " LIMIT 1"
    )
    return Checkpoint(row["transaction_id"], row["position"]) if row else Checkpoint()


@contextlib.contextmanager
def undeletable(path: Path) -> Iterator[str]:
    """Make unlinking `path` fail even for root; yields how. Undone on exit.

    Tests run as root, for whom permission bits stop nothing. The immutable attribute
    (`chattr +i`, ext4/xfs/btrfs) makes unlink fail with EPERM for root too. Where it
    is not supported, a non-empty directory stands where the file was expected, which
    unlink refuses (EISDIR) for anyone.
    """
    chattr = shutil.which("chattr")
    if chattr and subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode == 0:
        try:
            yield "chattr +i"
        finally:
            subprocess.run([chattr, "-i", str(path)], check=False)
        return
    path.unlink(missing_ok=True)
    path.mkdir()
    (path / "keep").write_bytes(b"x")
    try:
        yield "non-empty directory"
    finally:
        shutil.rmtree(path, ignore_errors=True)
