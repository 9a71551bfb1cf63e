"""Benchmark plumbing: users with tokens, and a finished job of random outputs, written
straight to the log and the data directory (no render needed to have something to fetch)."""

from __future__ import annotations

import asyncio
import os
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from service.accounts import passwords, tokens, users
from service.events.base import NewEvent
from service.events.job import (
    EffectParameters,
    ProcessingFinished,
    ProcessingStarted,
    StoredUpload,
    UploadReceived,
    VariationRendered,
    job_stream,
)
from service.events.store import NO_STREAM, EventStore
from service.storage.s3 import S3Storage

MIB = 1024 * 1024
EFFECTS = EffectParameters(rotation_rad=0.002, brightness=0.0, contrast=1.0, saturation=1.0)
TOKEN_TTL_S = 3600
FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"  # what intake recognises as MP4


def write_random(path: Path, size: int) -> int:
    """Write incompressible bytes; return their CRC-32."""
    crc = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            crc = zlib.crc32(block, crc)
            f.write(block)
    return crc


async def seed_job(
    url: str, data_dir: Path, outputs: int, size: int, bucket: S3Storage | None = None
) -> tuple[uuid.UUID, str]:
    """A finished job of random outputs on disk under `data_dir`, or (with `bucket`)
    stored in the bucket with their ETags recorded."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    now = datetime.now(UTC)
    name = "bench" if bucket is None else "bench-s3"
    user = await users.create_user(
        pool, name, await passwords.hash_password("pw"), is_admin=False, now=now
    )
    token, _ = await tokens.issue(pool, user.id, now=now, ttl_s=TOKEN_TTL_S)
    job_id = uuid.uuid4()
    folders = 4
    uploads = [
        StoredUpload(file_id=uuid.uuid4(), name=f"source {n}.mp4", size=1, sha256="0" * 64,
                     key=f"uploads/{job_id}/{n}.mp4")
        for n in range(folders)
    ]  # fmt: skip
    per_folder = outputs // folders
    events: list[object] = [
        UploadReceived(job_id=job_id, owner_id=user.id, variations_per_video=per_folder,
                       files=tuple(uploads), received_at=now, expires_at=now + timedelta(days=1)),
        ProcessingStarted(job_id=job_id, attempt=1, worker="bench", started_at=now),
    ]  # fmt: skip
    for upload in uploads:
        for index in range(1, per_folder + 1):
            relative = f"outputs/{job_id}/{upload.file_id}/{index:02d}.mp4"
            crc = await asyncio.to_thread(write_random, data_dir / relative, size)
            etag = None
            if bucket is not None:  # moved into the bucket: put_file consumes the file
                etag = (await bucket.put_file(relative, data_dir / relative)).etag
                (data_dir / relative).unlink(missing_ok=True)
            events.append(VariationRendered(
                job_id=job_id, file_id=upload.file_id, variation_index=index, key=relative,
                etag=etag, size=size, crc32=crc, effects=EFFECTS, rendered_at=now))  # fmt: skip
    events.append(ProcessingFinished(job_id=job_id, outcome="completed", finished_at=now))
    await EventStore(pool).append(job_stream(job_id), [NewEvent.of(e) for e in events], NO_STREAM)  # type: ignore[arg-type]
    await pool.close()
    return job_id, token


async def seed_users(url: str, count: int, prefix: str) -> list[tuple[uuid.UUID, str]]:
    """`count` users named `<prefix>NNN`, each with a bearer token: (user id, token)."""
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    now = datetime.now(UTC)
    hashed = await passwords.hash_password("bench password")
    made = []
    for n in range(count):
        user = await users.create_user(pool, f"{prefix}{n:03d}", hashed, is_admin=False, now=now)
        token, _ = await tokens.issue(pool, user.id, now=now, ttl_s=TOKEN_TTL_S)
        made.append((user.id, token))
    await pool.close()
    return made


def video_bytes(size: int) -> bytes:
    """`size` bytes an upload accepts as MP4: an `ftyp` box, then random bytes."""
    return FTYP + os.urandom(size - len(FTYP))
