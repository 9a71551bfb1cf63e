"""Send a byte range of the archive on an HTTP response, file bodies by sendfile(2).

Headers, descriptors and the central directory go through the response's writer. File
bodies go as aiohttp's FileResponse sends a file, with `loop.sendfile`: the kernel moves
their pages to the socket, and their bytes never pass through Python. Before each window
is sent, a worker thread has read it into the page cache (a sendfile to /dev/null, which
copies nothing), so the event loop never waits for the disk; opening, the size check and
closing run in threads too. A body in an object store (no local file) is read with
ranged GETs, several ahead of the send, each guarded by `If-Match` with the ETag the log
recorded (storage/reading.py).

When the client goes away, or the handler is cancelled, the send stops at the window in
flight and the file is closed once the read-ahead thread is done with it.
"""

from __future__ import annotations

import asyncio
import os
from typing import IO, Protocol

from service.download.archive import ArchivePlan, FileSlice, iter_pieces
from service.errors import ArchiveSourceChanged
from service.storage.disk import disk_etag
from service.storage.interface import ObjectStorage
from service.storage.reading import read_range

# The first window of a file is small, so the first byte leaves soon after the read-ahead
# of 1 MiB; windows then double up to 32 MiB, so a 1000 MiB archive takes ~40 sendfile
# calls instead of one per MiB.
FIRST_WINDOW = 1024 * 1024
MAX_WINDOW = 32 * 1024 * 1024


class Request(Protocol):
    @property
    def transport(self) -> asyncio.Transport | None: ...


class Response(Protocol):
    async def write(self, data: bytes) -> None: ...


async def send_range(
    request: Request,
    response: Response,
    plan: ArchivePlan,
    start: int,
    end: int,
    storage: ObjectStorage | None = None,
) -> None:
    """Write bytes [start, end) of the archive to the prepared `response`.

    Raises ArchiveSourceChanged when a file is missing, resized or shrinks mid-send, and
    ObjectChanged when a remote object no longer has its recorded ETag: the transfer must
    then be cut short, never completed without those bytes or with another version's.
    """
    for piece in iter_pieces(plan, start, end):
        if isinstance(piece, bytes):
            await response.write(piece)
        elif piece.entry.path is None:
            await _send_remote(response, piece, storage)
        else:
            await _send_slice(request, piece)


async def _send_remote(response: Response, piece: FileSlice, storage: ObjectStorage | None) -> None:
    """A remote body: ranged GETs read ahead, each guarded by the recorded ETag."""
    entry = piece.entry
    if storage is None or entry.etag is None:
        raise ArchiveSourceChanged(entry.key, entry.size, None)
    async for data in read_range(storage, entry.key, piece.first, piece.last, etag=entry.etag):
        await response.write(data)


async def _send_slice(request: Request, piece: FileSlice) -> None:
    loop = asyncio.get_running_loop()
    window = min(FIRST_WINDOW, piece.last - piece.first)
    opening = asyncio.ensure_future(asyncio.to_thread(_open, piece, window))
    try:
        file = await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_once_open)  # the thread finishes the open anyway
        raise
    reading: asyncio.Future[None] | None = None
    try:
        position = piece.first
        while position < piece.last:
            if reading is not None:
                await reading  # this window is in the page cache now
            following = position + window
            next_window = min(window * 2, MAX_WINDOW, piece.last - following)
            reading = None
            if next_window > 0:
                reading = asyncio.ensure_future(
                    asyncio.to_thread(_read_ahead, file, following, next_window)
                )
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("the client went away")
            sent = await loop.sendfile(transport, file, position, window)
            if sent != window:
                raise ArchiveSourceChanged(str(piece.entry.path), piece.entry.size, position + sent)
            position, window = following, next_window
    finally:
        # Shielded: a cancelled handler must still close the file (after the read-ahead).
        await asyncio.shield(_close_after(reading, file))


def _close_once_open(opening: asyncio.Future[IO[bytes]]) -> None:
    """Close the file a cancelled send was opening, in a thread, once it is open."""
    if not opening.cancelled() and opening.exception() is None:
        asyncio.get_running_loop().run_in_executor(None, opening.result().close)


async def _close_after(reading: asyncio.Future[None] | None, file: IO[bytes]) -> None:
    if reading is not None:
        await asyncio.wait([reading])
        if not reading.cancelled():
            reading.exception()  # already raised to the sender, or moot once it stopped
    await asyncio.to_thread(file.close)


def _open(piece: FileSlice, first_window: int) -> IO[bytes]:
    """The entry's file, checked against its recorded size, its first window read ahead.

    Runs in a thread.
    """
    entry = piece.entry
    assert entry.path is not None
    try:
        file = os.fdopen(os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC), "rb")
    except OSError as error:
        raise ArchiveSourceChanged(str(entry.path), entry.size, None) from error
    try:
        stat = os.fstat(file.fileno())
        if stat.st_size != entry.size or (entry.etag and disk_etag(stat) != entry.etag):
            raise ArchiveSourceChanged(str(entry.path), entry.size, stat.st_size)
        _read_ahead(file, piece.first, first_window)
    except BaseException:
        file.close()
        raise
    return file


def _read_ahead(file: IO[bytes], offset: int, length: int) -> None:
    """Bring [offset, offset + length) into the page cache, waiting for the disk here
    rather than on the event loop. Runs in a thread.

    sendfile to /dev/null reads the pages and discards them without a copy. A file that
    shrank stops it early; the sendfile that follows finds that out.
    """
    end = offset + length
    sink = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    try:
        while offset < end:
            sent = os.sendfile(sink, file.fileno(), offset, end - offset)
            if sent == 0:
                return
            offset += sent
    finally:
        os.close(sink)
