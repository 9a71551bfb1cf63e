"""Create, find and terminate resumable uploads: the rules around the bytes.

An upload belongs to the user who created it; to anyone else it does not exist (404, as
for an unknown id). Ids are random UUIDs (122 random bits), so they cannot be guessed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from service.accounts.principal import Principal
from service.errors import (
    InsufficientStorage,
    NotFound,
    UnsupportedMediaType,
    UploadLengthExceeded,
    UploadNotUsable,
)
from service.settings import Settings
from service.tus import files, rows
from service.tus.context import UploadContext
from service.tus.protocol import Metadata
from service.tus.visibility import visible_row
from service.uploads import sniff
from service.uploads.files import free_bytes
from service.uploads.intake import display_name

log = logging.getLogger(__name__)


async def create_upload(
    ctx: UploadContext, settings: Settings, principal: Principal, length: int, meta: Metadata
) -> rows.UploadRow:
    """A new, empty upload: the row, then its (durably named) empty file."""
    name = display_name(meta.filename, 1)
    if length > settings.max_upload_bytes:
        raise UploadLengthExceeded(
            f"Upload-Length {length} is larger than the {settings.max_upload_bytes}-byte "
            "limit per file",
            field="Upload-Length",
        )
    if length < sniff.HEAD_BYTES:  # too short to hold an `ftyp` box: cannot be a video
        raise UnsupportedMediaType(name)
    free = await asyncio.to_thread(free_bytes, ctx.tus_dir)
    if free - length < settings.upload_reserve_bytes:
        raise InsufficientStorage(
            f"the upload needs {length} bytes and the server has room for less", file=name
        )
    now = ctx.clock.now()
    row = rows.UploadRow(
        upload_id=uuid.uuid4(),
        owner_id=principal.user_id,
        filename=name,
        filetype=meta.filetype,
        length=length,
        offset=0,
        extension=None,
        sha256=None,
        created_at=now,
        expires_at=now + ctx.expiry,
        job_id=None,
    )
    await rows.insert(ctx.pool, row)
    try:
        await asyncio.to_thread(files.create, ctx.path(row))
    except BaseException:
        await asyncio.shield(rows.delete(ctx.pool, row.upload_id))
        raise
    log.info("upload %s created (%d bytes)", row.upload_id, length,
             extra={"action": "tus.created"})  # fmt: skip
    return row


def parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("no such upload") from None


async def visible_upload(ctx: UploadContext, principal: Principal, raw_id: str) -> rows.UploadRow:
    """The caller's upload; 404 for unknown or someone else's, 410 once expired."""
    row = await rows.get(ctx.pool, parse_id(raw_id))
    return visible_row(row, principal, ctx.clock.now())


async def terminate(ctx: UploadContext, row: rows.UploadRow) -> None:
    """DELETE: the row, then the bytes. An upload a job took belongs to the job now."""
    if row.job_id is not None:
        raise UploadNotUsable(
            row.upload_id, f"it belongs to job {row.job_id}", code="upload_in_job"
        )
    if await rows.delete(ctx.pool, row.upload_id):
        await asyncio.to_thread(files.remove, ctx.path(row))
        ctx.hashes.forget(row.upload_id)
        log.info("upload %s terminated", row.upload_id, extra={"action": "tus.terminated"})
