"""The async adapter reads off the event loop and stops reading, with its file closed, as
soon as the consumer stops."""

from __future__ import annotations

import asyncio
import os
import threading
from contextlib import aclosing

import psutil
import pytest

from service.download.archive import build_plan
from service.download.stream import stream_range
from service.errors import ArchiveSourceChanged
from tests.download.builders import library_stream, sparse_entry, write_entry

pytestmark = pytest.mark.usefixtures("utc_local_time")

MIB = 1 << 20


@pytest.fixture
def big_plan(tmp_path):
    """One 64 MiB output: far more than the few chunks a stopped consumer may cost."""
    return build_plan([sparse_entry(tmp_path, "big/big_var01.mp4", 64 * MIB)])


async def test_the_whole_range_arrives_in_bounded_chunks(tmp_path):
    # Given a small archive
    entries = [write_entry(tmp_path, f"v/v_var0{i}.mp4", bytes([i]) * 5000) for i in (1, 2)]
    plan = build_plan(entries)

    # When it is streamed through the adapter
    chunks = [chunk async for chunk in stream_range(plan, 0, plan.size, chunk_size=4096)]

    # Then it is the library's stream, in chunks no bigger than asked
    assert b"".join(chunks) == bytes(library_stream(entries))
    assert max(map(len, chunks)) <= 4096


async def test_files_are_opened_and_read_in_worker_threads_never_on_the_event_loop(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    # Given a plan of two files, and every open and read in this process watched
    plan = build_plan([sparse_entry(tmp_path, f"v/v_var0{i}.mp4", 3 * MIB) for i in (1, 2)])
    threads: list[int] = []
    for name in ("open", "pread", "read"):
        real = getattr(os, name)

        def watched(*args, _real=real):  # type: ignore[no-untyped-def]
            threads.append(threading.get_ident())
            return _real(*args)

        monkeypatch.setattr(os, name, watched)

    # When the whole archive is streamed
    chunks = [chunk async for chunk in stream_range(plan, 0, plan.size)]
    monkeypatch.undo()

    # Then every file access happened off the loop's thread
    assert sum(map(len, chunks)) == plan.size
    assert threads and threading.get_ident() not in threads


async def test_closing_after_one_chunk_stops_reading_and_closes_the_file(big_plan):
    # Given the process's open descriptors and bytes read so far
    process = psutil.Process()
    fds_before = process.num_fds()
    read_before = process.io_counters().read_chars

    # When one chunk is consumed and the consumer closes the stream
    chunks = stream_range(big_plan, 0, big_plan.size, chunk_size=MIB)
    first = await anext(chunks)
    await chunks.aclose()

    # Then the file is closed and only a chunk or two of the 64 MiB was read
    assert len(first) == MIB
    assert process.num_fds() == fds_before
    assert process.io_counters().read_chars - read_before < 4 * MIB


async def test_a_cancelled_consumer_leaves_no_file_open_and_no_thread_reading(big_plan):
    # Given a consumer that stalls after its first chunk, as a slow client would
    process = psutil.Process()
    fds_before = process.num_fds()
    read_before = process.io_counters().read_chars
    got_one = asyncio.Event()

    async def consume() -> None:
        async with aclosing(stream_range(big_plan, 0, big_plan.size, chunk_size=MIB)) as chunks:
            async for _chunk in chunks:
                got_one.set()
                await asyncio.sleep(3600)

    task = asyncio.create_task(consume())
    await got_one.wait()

    # When the consumer is cancelled (the client went away)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Then the file is closed and reading stopped after at most the chunk in flight
    assert process.num_fds() == fds_before
    read_after_cancel = process.io_counters().read_chars
    assert read_after_cancel - read_before < 4 * MIB
    await asyncio.sleep(0.05)
    assert process.io_counters().read_chars - read_after_cancel < MIB


async def test_a_source_that_vanished_fails_the_stream(tmp_path):
    # Given a plan whose only file is deleted
    entry = write_entry(tmp_path, "a/a_var01.mp4", b"data")
    plan = build_plan([entry])
    entry.path.unlink()

    # When it is streamed / Then the consumer sees ArchiveSourceChanged
    with pytest.raises(ArchiveSourceChanged):
        async for _chunk in stream_range(plan, 0, plan.size):
            pass


async def test_cancelling_during_a_read_closes_the_file_once_that_read_ends(big_plan):
    # Given a stream with a read in flight in its worker thread
    process = psutil.Process()
    fds_before = process.num_fds()
    chunks = stream_range(big_plan, 0, big_plan.size, chunk_size=MIB)
    await anext(chunks)
    reading = asyncio.ensure_future(anext(chunks))
    await asyncio.sleep(0)

    # When the waiting consumer is cancelled
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading

    # Then the generator was closed after that read, so the file is already closed
    assert process.num_fds() == fds_before
    with pytest.raises(StopAsyncIteration):
        await anext(chunks)
