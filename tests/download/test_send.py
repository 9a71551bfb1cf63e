"""Sending a range over a real TCP connection: the library's bytes, file bodies by
sendfile from pages a thread has already read, and a prompt stop that closes the file."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import threading
import time
from collections.abc import AsyncIterator
from typing import IO

import psutil
import pytest

from service.download import send
from service.download.archive import Body, build_plan
from service.download.send import FIRST_WINDOW, send_range
from service.errors import ArchiveSourceChanged
from tests.download.builders import library_stream, sparse_entry, write_entry
from tests.support import eventually

pytestmark = pytest.mark.usefixtures("utc_local_time")

MIB = 1 << 20


class Sender:
    """What `send_range` needs of aiohttp's request and response: the transport, and a
    writer for the literal bytes."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    async def write(self, data: bytes) -> None:
        self.transport.write(data)


def watch_files(monkeypatch: pytest.MonkeyPatch) -> list[IO[bytes]]:
    """Every file object the sender opens, kept so a test can see that it was closed."""
    files: list[IO[bytes]] = []
    real = send._open

    def keeping(*args):  # type: ignore[no-untyped-def]
        file = real(*args)
        files.append(file)
        return file

    monkeypatch.setattr(send, "_open", keeping)
    return files


@contextlib.asynccontextmanager
async def connection() -> AsyncIterator[tuple[Sender, asyncio.StreamReader]]:
    """A loopback TCP connection: the sending end, and a reader at the other end."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    accepted = loop.create_future()

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result((reader, writer))

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    reader, writer = await accepted
    try:
        yield Sender(transport), reader  # type: ignore[arg-type]
    finally:
        transport.close()
        writer.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
def entries(tmp_path):
    """Outputs smaller than, equal to and larger than the first sendfile windows."""
    rng = random.Random(3)
    return [
        write_entry(tmp_path, "a/a_var01.mp4", rng.randbytes(3000)),
        write_entry(tmp_path, "a/a_var02.mp4", b""),
        write_entry(tmp_path, "b/b_var01.mp4", rng.randbytes(FIRST_WINDOW)),
        write_entry(tmp_path, "c/c_var01.mp4", rng.randbytes(3 * FIRST_WINDOW + 5)),
    ]


async def test_any_range_arrives_as_the_same_slice_of_the_library_stream(entries):
    # Given the library's own stream of the same files
    full = bytes(library_stream(entries))
    plan = build_plan(entries)
    bodies = [s for s in plan.segments if isinstance(s, Body)]
    starts = {0, plan.size - 1} | {b.offset + d for b in bodies for d in (-1, 0, 1, b.length // 2)}
    async with connection() as (sender, reader):
        for start in sorted(s for s in starts if 0 <= s < plan.size):
            for end in (plan.size, min(start + FIRST_WINDOW + 7, plan.size)):
                # When the range is sent over the connection
                _, received = await asyncio.gather(
                    send_range(sender, sender, plan, start, end),
                    reader.readexactly(end - start),
                )
                # Then the other end receives exactly the library's bytes
                assert received == full[start:end], (start, end)


async def test_the_loop_only_sends_pages_a_thread_has_already_read(
    entries, monkeypatch: pytest.MonkeyPatch
):
    # Given every open and sendfile in this process watched: its thread, its file, its
    # span, and when it began and ended
    loop_thread = threading.get_ident()
    tick = itertools.count()  # next() is atomic: one order across threads
    opened: list[tuple[int, str]] = []
    read_ahead: list[tuple[int, tuple[int, int], int, int, int]] = []  # thread, file, a, b, ended
    sent: list[tuple[int, tuple[int, int], int, int, int]] = []  # thread, file, a, b, began
    real_open, real_sendfile = os.open, os.sendfile
    sockets: set[int] = set()

    def watched_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        fd = real_open(path, *args, **kwargs)
        opened.append((threading.get_ident(), str(path)))
        return fd

    def watched_sendfile(out_fd: int, in_fd: int, offset: int, count: int) -> int:
        began = next(tick)
        done = real_sendfile(out_fd, in_fd, offset, count)
        stat = os.fstat(in_fd)
        file = (stat.st_dev, stat.st_ino)
        if out_fd in sockets:
            sent.append((threading.get_ident(), file, offset, offset + done, began))
        else:
            read_ahead.append((threading.get_ident(), file, offset, offset + done, next(tick)))
        return done

    # (each read-ahead starts late, so a send that did not wait for it would show)
    real_read_ahead = send._read_ahead

    def late_read_ahead(*args):  # type: ignore[no-untyped-def]
        time.sleep(0.02)
        real_read_ahead(*args)

    monkeypatch.setattr(send, "_read_ahead", late_read_ahead)
    plan = build_plan(entries)
    files = watch_files(monkeypatch)
    async with connection() as (sender, reader):
        sockets.add(sender.transport.get_extra_info("socket").fileno())
        monkeypatch.setattr(os, "open", watched_open)
        monkeypatch.setattr(os, "sendfile", watched_sendfile)
        # When the whole archive is sent
        await asyncio.gather(
            send_range(sender, sender, plan, 0, plan.size), reader.readexactly(plan.size)
        )
        monkeypatch.undo()

    # Then every file was opened in a worker thread, and closed
    paths = {str(e.path) for e in entries}
    with_bodies = {str(e.path) for e in entries if e.size}
    assert {path for _, path in opened if path in paths} == with_bodies
    assert all(thread != loop_thread for thread, path in opened if path in paths)
    assert len(files) == len(with_bodies) and all(f.closed for f in files)
    # And every read-ahead ran in a worker thread, every send on the loop
    assert read_ahead and all(thread != loop_thread for thread, *_ in read_ahead)
    assert sent and all(thread == loop_thread for thread, *_ in sent)
    # And each byte sent from a file had been read by a thread before its send began
    for _, file, start, end, began in sent:
        assert any(
            f == file and a <= start and end <= b and ended < began
            for _, f, a, b, ended in read_ahead
        ), (file, start, end)


async def test_a_stalled_client_cancelled_mid_send_leaves_no_file_open_and_no_reading(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    # Given a 256 MiB output (sparse: cheap to make, real to read), and a client that
    # reads nothing, so the sender waits for a full socket
    plan = build_plan([sparse_entry(tmp_path, "big/big_var01.mp4", 256 * MIB)])
    process = psutil.Process()
    files = watch_files(monkeypatch)
    async with connection() as (sender, _reader):
        fds_before = process.num_fds()
        read_before = process.io_counters().read_chars
        sending = asyncio.create_task(send_range(sender, sender, plan, 0, plan.size))
        await asyncio.sleep(0.2)
        assert not sending.done()

        # When the sender is cancelled (the server shuts down, the handler is cancelled)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending

        # Then the file is closed, and only the socket's worth and a window were read
        await eventually(lambda: files and files[0].closed, within=5)  # closed, not collected
        assert process.num_fds() == fds_before
        read = process.io_counters().read_chars - read_before
        assert read < 64 * MIB, read
        await asyncio.sleep(0.1)
        assert process.io_counters().read_chars - read_before - read < 64 * 1024  # /proc reads


async def test_a_send_cancelled_while_its_file_is_being_opened_still_closes_it(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    # Given a send whose first read-ahead, in the opening thread, is held up
    plan = build_plan([sparse_entry(tmp_path, "big/big_var01.mp4", 8 * MIB)])
    process = psutil.Process()
    held, release = threading.Event(), threading.Event()
    real_read_ahead = send._read_ahead

    def slow_read_ahead(*args):  # type: ignore[no-untyped-def]
        held.set()
        release.wait(5)
        real_read_ahead(*args)

    monkeypatch.setattr(send, "_read_ahead", slow_read_ahead)
    files = watch_files(monkeypatch)
    async with connection() as (sender, _reader):
        fds_before = process.num_fds()
        sending = asyncio.create_task(send_range(sender, sender, plan, 0, plan.size))
        await asyncio.to_thread(held.wait, 5)

        # When the send is cancelled before the open has finished
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        release.set()

        # Then the file the thread goes on to open is closed all the same
        await eventually(lambda: files and files[0].closed, within=5)  # closed, not collected
        assert process.num_fds() == fds_before


async def test_a_file_that_shrinks_mid_send_ends_the_send_short(tmp_path):
    # Given a 64 MiB output whose sending has begun, with a client that reads slowly
    entry = sparse_entry(tmp_path, "big/big_var01.mp4", 64 * MIB)
    plan = build_plan([entry])
    async with connection() as (sender, reader):
        sending = asyncio.create_task(send_range(sender, sender, plan, 0, plan.size))
        received = len(await reader.readexactly(1024))

        # When the file loses all but its first 16 MiB
        os.truncate(entry.path, 16 * MIB)

        # Then the send fails, naming the file, before the bytes it no longer has
        counting = asyncio.create_task(_count_until_closed(reader))
        with pytest.raises(ArchiveSourceChanged) as raised:
            await sending
        sender.transport.close()
        received += await counting
        assert raised.value.fields["path"] == str(entry.path)
        assert received <= 16 * MIB + 100  # the local header, then at most what is left


async def test_a_missing_file_fails_before_any_of_its_bytes(tmp_path):
    # Given two outputs, the second deleted after planning
    first = write_entry(tmp_path, "a/a_var01.mp4", b"x" * 5000)
    second = write_entry(tmp_path, "a/a_var02.mp4", b"y" * 5000)
    plan = build_plan([first, second])
    second.path.unlink()
    body = next(s for s in plan.segments if isinstance(s, Body) and s.entry == second)
    async with connection() as (sender, reader):
        # When the archive is sent / Then the send fails where that file's body begins
        with pytest.raises(ArchiveSourceChanged):
            await send_range(sender, sender, plan, 0, plan.size)
        sender.transport.close()
        assert len(await reader.read()) == body.offset


async def _count_until_closed(reader: asyncio.StreamReader) -> int:
    received = 0
    while chunk := await reader.read(MIB):
        received += len(chunk)
    return received
