"""Read a multipart upload: a `variations` field and `videos` files, streamed to storage.

Each file is streamed to the object `uploads/<job>/<file-id><ext>` in ~1 MiB chunks: the
store writes one chunk (a thread on the local disk, a multipart upload part in a bucket)
while the next is read and hashed, so memory stays flat whatever the file size. The
extension comes from the content; the user's file name is only ever data. Limits stop
reading at once. A stored object is durable (fsynced, or acknowledged by the bucket)
before the caller can record the job: the log must never name an upload that could be
lost. On any failure the caller calls `discard`, which deletes every object stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeVar

from aiohttp import BodyPartReader, ClientError, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from service.errors import (
    BadRequest,
    InsufficientStorage,
    TooManyFiles,
    UnsupportedMediaType,
    UploadInterrupted,
    UploadTooLarge,
)
from service.settings import Settings
from service.storage.interface import ObjectStorage
from service.storage.keys import UPLOADS, upload_key
from service.uploads import files, sniff

CHUNK_BYTES = 2**20  # one thread hop per MiB: the hop costs ~0.1 ms
MIN_READ_BYTES = 2**16  # read_chunk needs room for a boundary; the socket gives ~64 KiB anyway
DEFAULT_VARIATIONS = 5
MAX_VARIATIONS = 20
MAX_FIELD_BYTES = 32  # `variations` is a small integer
MAX_NAME_CHARS = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
T = TypeVar("T")


@dataclass(frozen=True)
class StoredFile:
    """One received file as stored: the user's name, our key, and what the log records."""

    file_id: uuid.UUID
    name: str
    key: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class Upload:
    """What was received: the variations asked for and each stored file."""

    variations: int
    files: tuple[StoredFile, ...]


def display_name(raw: str | None, index: int) -> str:
    """The user's file name as data: last path component, no control characters."""
    name = _CONTROL.sub("", (raw or "").replace("\\", "/"))
    name = PurePosixPath(name).name.strip()[:MAX_NAME_CHARS]
    return name if name not in ("", ".", "..") else f"video-{index}"


class UploadIntake:
    """One job's upload, from the multipart reader to objects in storage."""

    def __init__(self, settings: Settings, storage: ObjectStorage, job_id: uuid.UUID) -> None:
        self.settings = settings
        self.storage = storage
        self.job_id = job_id
        self.files: list[StoredFile] = []

    async def check_space(self, content_length: int | None) -> None:
        """507 before reading anything when the declared body cannot fit on the local disk
        (a bucket has no free space to ask about)."""
        if content_length is None or self.storage.local_path(UPLOADS + "/x") is None:
            return
        free = await asyncio.to_thread(files.free_bytes, self.settings.uploads_dir)
        if free - content_length < self.settings.upload_reserve_bytes:
            raise InsufficientStorage(
                f"the upload needs {content_length} bytes and the server has room for less"
            )

    async def read(self, reader: MultipartReader) -> Upload:
        variations: int | None = None
        while (part := await _guarded(reader.next())) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadRequest("nested multipart bodies are not accepted")
            if part.name == "variations":
                variations = await _read_variations(part)
            elif part.name == "videos":
                if len(self.files) >= self.settings.max_files_per_job:
                    raise TooManyFiles(self.settings.max_files_per_job)
                await self._store(part, display_name(part.filename, len(self.files) + 1))
            else:
                raise BadRequest(f"unexpected field {part.name!r}", field=part.name or None)
        if not self.files:
            raise BadRequest("at least one `videos` file part is required", field="videos")
        return Upload(variations or DEFAULT_VARIATIONS, tuple(self.files))

    async def _store(self, part: BodyPartReader, name: str) -> None:
        head = await _read_at_least(part, sniff.HEAD_BYTES)
        extension = sniff.container_extension(head)
        if extension is None:
            raise UnsupportedMediaType(name)
        file_id = uuid.uuid4()
        key = upload_key(self.job_id, file_id, extension)
        digest = hashlib.sha256()
        limit = self.settings.max_upload_bytes

        async def chunks() -> AsyncIterator[bytes]:
            received = 0
            buffer = bytearray(head)
            while True:
                room = limit + 1 - received  # one byte past the limit proves it is exceeded
                await _fill(part, buffer, min(CHUNK_BYTES, room))
                received += len(buffer)
                if received > limit:
                    raise UploadTooLarge(name, limit)
                if not buffer:
                    return
                chunk = bytes(buffer)
                await asyncio.to_thread(digest.update, chunk)  # releases the GIL
                yield chunk
                buffer = bytearray()

        try:
            stored = await self.storage.put_stream(key, chunks())
        except InsufficientStorage:
            raise InsufficientStorage(
                f"no disk space left while storing {name!r}", file=name
            ) from None
        self.files.append(
            StoredFile(file_id, name, key, stored.size, digest.hexdigest(), stored.etag)
        )

    async def discard(self) -> None:
        """Delete every object this upload stored; finishes even if the caller is cancelled.
        (A put cut short stores nothing: the backends write whole objects or none.)"""
        keys = [f.key for f in self.files]

        async def run() -> None:
            if keys:
                await self.storage.delete(keys)

        await asyncio.shield(asyncio.ensure_future(run()))


async def _read_variations(part: BodyPartReader) -> int:
    raw = await _read_at_least(part, MAX_FIELD_BYTES + 1)
    try:
        value = int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        value = 0
    if len(raw) > MAX_FIELD_BYTES or not 1 <= value <= MAX_VARIATIONS:
        raise BadRequest(
            f"variations must be an integer from 1 to {MAX_VARIATIONS}", field="variations"
        )
    return value


async def _read_at_least(part: BodyPartReader, size: int) -> bytes:
    """Up to `size` bytes of the part (fewer only at its end)."""
    data = bytearray()
    await _fill(part, data, size)
    return bytes(data)


async def _fill(part: BodyPartReader, buffer: bytearray, size: int) -> None:
    """Extend `buffer` in place to `size` bytes, or to the end of the part."""
    while len(buffer) < size and not part.at_eof():
        buffer += await _guarded(part.read_chunk(max(size - len(buffer), MIN_READ_BYTES)))


async def _guarded(read: Awaitable[T]) -> T:
    """A malformed body is a 400; a client that went away ends the upload."""
    try:
        return await read
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None
    except (OSError, ClientError) as exc:
        raise UploadInterrupted(f"the upload ended early: {exc.__class__.__name__}") from None


def open_multipart(request: web.Request) -> MultipartReader:
    """The body as multipart/form-data, or a 400."""
    if request.content_type != "multipart/form-data":
        raise BadRequest("the body must be multipart/form-data")
    try:
        return MultipartReader(request.headers, request.content)
    except (ValueError, KeyError, AssertionError):
        raise BadRequest("malformed multipart/form-data header (boundary)") from None
