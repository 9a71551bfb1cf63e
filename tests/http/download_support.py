"""Finished jobs with real output files on disk, written straight to the log."""

from __future__ import annotations

import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from service.bootstrap import Services
from service.events.base import NewEvent
from service.events.job import (
    EffectParameters,
    Outcome,
    ProcessingFinished,
    ProcessingStarted,
    StoredUpload,
    Thumbnail,
    UploadReceived,
    VariationRendered,
    job_stream,
)
from service.events.store import NO_STREAM
from service.http.keys import SERVICES

EFFECTS = EffectParameters(rotation_rad=0.002, brightness=0.01, contrast=1.01, saturation=0.99)


@dataclass
class Output:
    file_id: uuid.UUID
    index: int
    path: Path
    content: bytes


def write_output(
    data_dir: Path, job_id: uuid.UUID, file_id: uuid.UUID, index: int, content: bytes
) -> Path:
    path = data_dir / "outputs" / str(job_id) / str(file_id) / f"{index:02d}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


async def finished_job(
    services: Services,
    owner_id: uuid.UUID,
    sources: dict[str, int] | list[tuple[str, int]],
    *,
    outcome: Outcome = "completed",
    failed_names: tuple[str, ...] = (),
    output_size: int = 3000,
    retention: timedelta = timedelta(hours=24),
    sparse_size: int | None = None,
    rendered_at: datetime | None = None,
    renders_reversed: bool = False,
    thumbnails: bool = False,
    finish: bool = True,
) -> tuple[uuid.UUID, list[Output]]:
    """A job whose sources (name → variation count) were all rendered, as one atomic append.

    Files named in `failed_names` get no outputs. Output bytes are random (incompressible),
    or, with `sparse_size`, zeros in a sparse file of that size (cheap to make, real to read).
    `rendered_at` defaults to the clock's time; `renders_reversed` records the renders last
    first, as a worker finishing out of order would. Outputs are listed in upload order.
    `thumbnails` writes and records a small stand-in JPEG per output and per source.
    `finish=False` leaves the job processing: its renders recorded, no ProcessingFinished.
    """
    pairs = list(sources.items()) if isinstance(sources, dict) else list(sources)
    job_id = uuid.uuid4()
    now = services.clock.now()
    data_dir = services.settings.data_dir
    uploads = [
        StoredUpload(
            file_id=uuid.uuid4(),
            name=name,
            size=10,
            sha256=hashlib.sha256(name.encode()).hexdigest(),
            key=f"uploads/{job_id}/{n}.mp4",
        )
        for n, (name, _) in enumerate(pairs)
    ]
    variations = max(count for _, count in pairs)
    events: list[object] = [
        UploadReceived(
            job_id=job_id,
            owner_id=owner_id,
            variations_per_video=variations,
            files=tuple(uploads),
            received_at=now,
            expires_at=now + retention,
        ),
        ProcessingStarted(job_id=job_id, attempt=1, worker="test", started_at=now),
    ]
    outputs = []
    renders = []
    for upload, (name, count) in zip(uploads, pairs, strict=True):
        if name in failed_names:
            continue
        for index in range(1, count + 1):
            content = b"" if sparse_size else os.urandom(output_size)
            path = write_output(data_dir, job_id, upload.file_id, index, content)
            size, crc = len(content), zlib.crc32(content)
            if sparse_size:
                os.truncate(path, sparse_size)
                size, crc = sparse_size, zeros_crc32(sparse_size)
            outputs.append(Output(upload.file_id, index, path, content))
            pictures = (
                (
                    thumbnail_of(data_dir, path.with_suffix(".jpg")),
                    thumbnail_of(data_dir, path.with_name("source.jpg")) if index == 1 else None,
                )
                if thumbnails
                else (None, None)
            )
            renders.append(
                VariationRendered(
                    job_id=job_id,
                    file_id=upload.file_id,
                    variation_index=index,
                    key=str(path.relative_to(data_dir)),
                    size=size,
                    crc32=crc,
                    effects=EFFECTS,
                    rendered_at=rendered_at or now,
                    thumbnail=pictures[0],
                    source_thumbnail=pictures[1],
                )
            )
    events += reversed(renders) if renders_reversed else renders
    if finish:
        events.append(ProcessingFinished(job_id=job_id, outcome=outcome, finished_at=now))
    result = await services.store.append(
        job_stream(job_id),
        [NewEvent.of(e) for e in events],
        NO_STREAM,  # type: ignore[arg-type]
    )
    assert await services.job_view_waiter.wait_for(result, timeout_s=10)
    return job_id, outputs


def thumbnail_of(data_dir: Path, path: Path) -> Thumbnail:
    """A stand-in JPEG (its magic bytes, then noise) at `path`, as the log records it."""
    content = b"\xff\xd8\xff\xe0" + os.urandom(200)
    path.write_bytes(content)
    return Thumbnail(
        key=path.relative_to(data_dir).as_posix(),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def zeros_crc32(size: int) -> int:
    block = bytes(1024 * 1024)
    crc = 0
    for start in range(0, size, len(block)):
        crc = zlib.crc32(block[: min(len(block), size - start)], crc)
    return crc


def services_of(client: Any) -> Any:
    return client.app[SERVICES]


async def fetch(client: Any, job_id: object, headers: dict[str, str], **extra: str) -> Any:
    return await client.get(f"/api/jobs/{job_id}/download", headers={**headers, **extra})
