"""The archive range as an async iterator: file reads happen in a worker thread, one chunk
per hop, so the event loop never blocks and at most one chunk waits in memory.

When the consumer stops (aclose, cancellation, a client gone away) the reading generator
is closed in a thread too, after the one read in flight, so its file descriptor closes
and no thread goes on reading.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Generator

from service.download.archive import CHUNK_SIZE, ArchivePlan, iter_range


async def stream_range(
    plan: ArchivePlan, start: int, end: int, chunk_size: int = CHUNK_SIZE
) -> AsyncIterator[bytes]:
    """Bytes [start, end) of the archive, read off the event loop.

    Consume it under `contextlib.aclosing`: a consumer that stops early then closes the
    file at once, not whenever the abandoned generator is collected.
    """
    loop = asyncio.get_running_loop()
    chunks = iter_range(plan, start, end, chunk_size)
    # A generator refuses close() while another thread runs it; the lock makes the
    # closing call wait for the read in flight instead.
    lock = threading.Lock()
    try:
        while True:
            chunk = await loop.run_in_executor(None, _next_chunk, chunks, lock)
            if chunk is None:
                return
            yield chunk
    finally:
        closing = loop.run_in_executor(None, _close, chunks, lock)
        # Shielded: a second cancellation must not abandon the close, only the wait.
        await asyncio.shield(closing)


def _next_chunk(chunks: Generator[bytes, None, None], lock: threading.Lock) -> bytes | None:
    """One chunk, or None at the end. Runs in a thread."""
    with lock:
        return next(chunks, None)


def _close(chunks: Generator[bytes, None, None], lock: threading.Lock) -> None:
    """Close the generator, which closes its open file. Runs in a thread."""
    with lock:
        chunks.close()
