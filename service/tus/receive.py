"""Receive one PATCH body (or a creation-with-upload body) into an upload's file.

Bytes go to disk as they arrive, in ~1 MiB chunks whose write and SHA-256 run in two
threads while the next chunk is read, so memory stays flat and the event loop never
blocks. The offset a HEAD reports is always durable: the file is fsynced before the row
records a new offset — at the end of the body, every `COMMIT_EVERY_BYTES` of a long body,
and when the client goes away mid-body (what arrived is kept, so it can resume there). A
body with an `Upload-Checksum` is all or nothing: it is recorded only once it matches.
The content is sniffed once the first 64 KiB (or the whole, smaller file) are in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import uuid
from collections.abc import Callable

from aiohttp import ClientError, StreamReader
from aiohttp.http_exceptions import HttpProcessingError

from service.accounts.principal import Principal
from service.errors import (
    ChecksumMismatch,
    NotFound,
    UnsupportedMediaType,
    UploadInterrupted,
    UploadLengthExceeded,
    UploadLocked,
    UploadOffsetMismatch,
)
from service.tus import files, rows
from service.tus.context import UploadContext
from service.tus.protocol import Checksum
from service.tus.visibility import visible_row
from service.uploads import sniff

log = logging.getLogger(__name__)

CHUNK_BYTES = 2**20  # one thread hop per MiB: the hop costs ~0.1 ms
SNIFF_BYTES = 64 * 2**10  # the container is judged on this much (or the whole file)
COMMIT_EVERY_BYTES = 16 * 2**20  # a long body records durable progress this often
LOCK_WAIT_S = 2.0  # a PATCH whose predecessor is still finishing (a client that cut and
LOCK_RETRY_S = 0.05  # resumed at once) waits this long for the file lock, then 423


async def receive(
    ctx: UploadContext,
    principal: Principal,
    upload_id: uuid.UUID,
    body: StreamReader,
    *,
    sent_offset: int,
    content_length: int | None,
    checksum: Checksum | None,
) -> rows.UploadRow:
    """Append the body at `sent_offset` to the caller's upload; the row as recorded after.

    The file lock comes first and the row is read under it, so the offset checked (and
    cut back to) is the one the last PATCH recorded, never an older one.
    """
    target = await _lock(ctx, upload_id)
    try:
        row = visible_row(await _row_under_lock(ctx, target, upload_id), principal,
                          ctx.clock.now())  # fmt: skip
        if row.job_id is not None:
            raise NotFound("no such upload")
        if sent_offset != row.offset:
            raise UploadOffsetMismatch(sent_offset, row.offset)
        if content_length is not None and row.offset + content_length > row.length:
            raise UploadLengthExceeded(
                f"{content_length} bytes at offset {row.offset} would pass the declared "
                f"Upload-Length {row.length}",
                field="Content-Length",
            )
        if target.needs_cut(row.offset):
            await asyncio.to_thread(target.prepare, row.offset)
        patch = _Patch(ctx, row, target, checksum)
        await patch.start()
        await patch.run(body)
        return patch.row
    finally:
        await asyncio.shield(asyncio.to_thread(target.close))


async def _row_under_lock(
    ctx: UploadContext, target: files.PatchTarget, upload_id: uuid.UUID
) -> rows.UploadRow | None:
    """The upload's row as recorded, read only once its file is locked. The row this
    process recorded last stands in for it (no database round trip) when the file is
    exactly as long as that row's offset: offsets only grow, and a recorded offset never
    names more bytes than the file holds, so no other writer has recorded one since. A
    row deleted meanwhile (terminated, reaped) still fails the PATCH, at its record."""
    known = ctx.hashes.recorded(upload_id)
    if known is not None and known.offset == target.size:
        return known
    return await rows.get(ctx.pool, upload_id)


async def _lock(ctx: UploadContext, upload_id: uuid.UUID) -> files.PatchTarget:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    while True:
        try:
            return await asyncio.to_thread(files.PatchTarget, ctx.path_of(upload_id))
        except UploadLocked:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(LOCK_RETRY_S)


class _Patch:
    """One body being received: the running hash, the sniff, the last durable offset."""

    def __init__(
        self,
        ctx: UploadContext,
        row: rows.UploadRow,
        target: files.PatchTarget,
        checksum: Checksum | None,
    ) -> None:
        self.ctx, self.row, self.target = ctx, row, target
        self.checksum = checksum
        self.check = checksum.hasher() if checksum else None
        self.durable = row.offset  # recorded in the row, bytes fsynced
        self.written = row.offset  # handed to the file (maybe not yet durable)
        self.extension = row.extension
        self.head: bytearray | None = None
        self.sniff_at = min(SNIFF_BYTES, row.length)
        self.sha256: hashlib._Hash = hashlib.sha256()  # replaced by `start`
        self.synced = row.offset  # fsynced, maybe not yet recorded
        self._pending: tuple[asyncio.Future[None], asyncio.Future[None]] | None = None

    async def start(self) -> None:
        """The running hash of what is stored so far, and the stored head if unsniffed."""
        path = self.ctx.path(self.row)
        self.sha256 = self.ctx.hashes.resume(self.row.upload_id, self.row.offset)
        if self.sha256 is None:
            self.sha256 = await asyncio.to_thread(files.rehash, path, self.row.offset)
        if self.extension is None:
            stored = min(self.row.offset, self.sniff_at)
            self.head = bytearray(await asyncio.to_thread(files.read_head, path, stored))
            await self._sniff()

    async def run(self, body: StreamReader) -> None:
        try:
            await self._read(body)
        except (UploadInterrupted, asyncio.CancelledError):
            if self.checksum is None:  # keep what arrived: the client resumes from there
                await asyncio.shield(self._keep_what_arrived())
            raise
        await self._flush()
        if (
            self.checksum is not None
            and self.check is not None
            and (self.check.digest() != self.checksum.digest)
        ):
            await asyncio.to_thread(self.target.truncate, self.durable)
            raise ChecksumMismatch(self.checksum.algorithm)
        await self._record()

    async def _read(self, body: StreamReader) -> None:
        length = self.row.length
        while True:
            room = length - self.written
            buffer, cut = await _fill(body, min(CHUNK_BYTES, room + 1))
            if len(buffer) > room:
                # Nothing past Upload-Length is kept: this chunk is never written.
                await self._settle()
                raise UploadLengthExceeded(
                    f"the body passes the declared Upload-Length {length}", field="Upload-Length"
                )
            if not buffer:
                if cut is not None:
                    raise cut
                return
            if self.head is not None:
                self.head += buffer[: self.sniff_at - len(self.head)]
                await self._sniff()
            await self._settle()
            self._pending = (
                asyncio.ensure_future(asyncio.to_thread(self.target.write, buffer)),
                asyncio.ensure_future(asyncio.to_thread(self._hash, buffer)),
            )
            self.written += len(buffer)
            if cut is not None:  # the client went away: what arrived is written, then kept
                raise cut
            if self.checksum is None and self.written - self.durable >= COMMIT_EVERY_BYTES:
                await self._commit()

    def _hash(self, chunk: bytearray) -> None:
        """Runs in a thread beside the chunk's write (hashlib releases the GIL)."""
        self.sha256.update(chunk)
        if self.check is not None:
            self.check.update(chunk)

    async def _sniff(self) -> None:
        """Judge the container once the head is in; a non-video is deleted at once (415)."""
        if self.head is None or len(self.head) < self.sniff_at:
            return
        self.extension = sniff.container_extension(bytes(self.head))
        self.head = None
        if self.extension is None:
            await self._settle()
            await asyncio.to_thread(files.remove, self.ctx.path(self.row))
            await rows.delete(self.ctx.pool, self.row.upload_id)
            self.ctx.hashes.forget(self.row.upload_id)
            log.info("upload %s refused: not MP4/MOV", self.row.upload_id,
                     extra={"action": "tus.refused_content"})  # fmt: skip
            raise UnsupportedMediaType(self.row.filename)

    async def _settle(self, then: Callable[[], None] | None = None) -> None:
        """Wait for the chunk in flight (its write and its hash); with `then`, run that in
        a thread once the write is done, beside the hash. Shielded: the file stays open,
        and the hash in one piece, until its threads are done, whatever happens to this
        request."""
        writing, hashing = self._pending or (None, None)
        self._pending = None

        async def write_then() -> None:
            if writing is not None:
                await writing
            if then is not None:
                await asyncio.to_thread(then)

        rest = [hashing] if hashing is not None else []
        await asyncio.shield(asyncio.gather(write_then(), *rest))

    async def _flush(self) -> None:
        """Make everything written durable: the fsync starts as soon as the last chunk's
        write is done, beside that chunk's SHA-256, so the two tails of a PATCH overlap."""
        if self.written == self.synced:
            await self._settle()
            return
        written = self.written
        await self._settle(then=self.target.sync)
        self.synced = written

    async def _commit(self) -> None:
        await self._flush()
        await self._record()

    async def _record(self) -> None:
        """Record the fsynced offset: the row never names a byte a crash could lose."""
        if self.synced == self.durable and self.extension == self.row.extension:
            return
        complete = self.synced == self.row.length
        expires_at = self.ctx.clock.now() + self.ctx.expiry
        moved = await rows.advance(
            self.ctx.pool,
            self.row.upload_id,
            old=self.durable,
            new=self.synced,
            expires_at=expires_at,
            extension=self.extension,
            sha256=self.sha256.hexdigest() if complete else None,
        )
        if not moved:
            raise NotFound("no such upload")  # deleted or expired while this body arrived
        self.durable = self.synced
        self.row = dataclasses.replace(
            self.row, offset=self.synced, extension=self.extension, expires_at=expires_at
        )
        self.ctx.hashes.remember(self.row, self.sha256)

    async def _keep_what_arrived(self) -> None:
        try:
            await self._commit()
        except Exception as exc:
            log.warning(
                "upload %s: keeping what arrived failed: %r",
                self.row.upload_id,
                exc,
                extra={"action": "tus.keep_failed"},
            )


async def _fill(body: StreamReader, size: int) -> tuple[bytearray, UploadInterrupted | None]:
    """Up to `size` bytes of the body (fewer only at its end), and, if the client went
    away meanwhile, why: the bytes that did arrive are still returned, to be kept."""
    buffer = bytearray()
    while len(buffer) < size:
        try:
            chunk = await body.read(size - len(buffer))
        except (OSError, ClientError, HttpProcessingError) as exc:
            return buffer, UploadInterrupted(f"the body ended early: {exc.__class__.__name__}")
        if not chunk:
            break
        buffer += chunk
    return buffer, None
