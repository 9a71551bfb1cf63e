"""Worker test plumbing: jobs whose uploads are real clips on disk, and a running worker
with the job view it reads from."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.bootstrap import Services, job_view_runner
from service.events.base import EventMetadata, NewEvent, RecordedEvent
from service.events.job import StoredUpload, UploadReceived, job_stream
from service.events.store import NO_STREAM
from service.processing.worker import Worker
from service.projections.job_state import JobState
from tests.support import eventually, running


async def upload_job(
    services: Services,
    clips: Sequence[Path],
    *,
    variations: int = 3,
    job_id: uuid.UUID | None = None,
) -> UploadReceived:
    """Copy `clips` to where intake would store them and append the job's UploadReceived."""
    job_id = job_id or uuid.uuid4()
    data_dir = services.settings.data_dir
    files = []
    for clip in clips:
        file_id = uuid.uuid4()
        relative = f"uploads/{job_id}/{file_id}{clip.suffix}"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, data_dir / relative)
        content = clip.read_bytes()
        files.append(
            StoredUpload(
                file_id=file_id,
                name=clip.name,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                key=relative,
            )
        )
    now = datetime.now(UTC)
    received = UploadReceived(
        job_id=job_id,
        owner_id=uuid.uuid4(),
        variations_per_video=variations,
        files=tuple(files),
        received_at=now,
        expires_at=now + timedelta(hours=24),
    )
    metadata = EventMetadata(actor="test")
    await services.store.append(
        job_stream(job_id), [NewEvent.of(received, metadata=metadata)], NO_STREAM
    )
    return received


def make_worker(services: Services, **overrides: Any) -> Worker:
    settings = services.settings
    options: dict[str, Any] = {
        "store": services.store,
        "database": services.database,
        "jobs": services.jobs,
        "clock": services.clock,
        "storage": services.storage,
        "scratch_dir": settings.scratch_dir,
        "poll_interval_s": 0.05,
        **overrides,
    }
    worker = Worker(**options)
    services.job_view_waiter.on_advance(worker.wake)  # as service/processing/wiring.py does
    return worker


@contextlib.asynccontextmanager
async def worker_running(services: Services, *workers: Worker) -> AsyncIterator[None]:
    """The job view runner plus `workers` (one fresh worker when none is given)."""
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(running(job_view_runner(services)[0]))
        for worker in workers or (make_worker(services),):
            await stack.enter_async_context(running(worker))
        yield


async def finished(services: Services, job_id: uuid.UUID, within: float = 60) -> JobState:
    """Wait until the job view shows the job finished; return it."""
    state: JobState | None = None

    async def done() -> bool:
        nonlocal state
        state = await services.jobs.get(job_id)
        return state is not None and state.outcome is not None

    await eventually(done, within)
    assert state is not None
    return state


async def events_of(services: Services, job_id: uuid.UUID) -> list[RecordedEvent]:
    return await services.store.read_stream(job_stream(job_id))


def types_of(events: Sequence[RecordedEvent]) -> list[str]:
    return [e.type for e in events]


def files_under(folder: Path) -> set[str]:
    """Every file below `folder`, as posix paths relative to its parent's parent."""
    if not folder.exists():
        return set()
    return {
        p.relative_to(folder.parent.parent).as_posix() for p in folder.rglob("*") if p.is_file()
    }


def recorded_paths(job: JobState) -> set[str]:
    """Every file the log names under the job's outputs: renders and their thumbnails."""
    return {o.key for o in job.outputs} | {t.key for t in job.thumbnails()}
