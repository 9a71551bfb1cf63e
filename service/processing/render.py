"""Render one variation: ffmpeg applies an Effects to a source video, writing a partial
file that becomes the target only when complete, then the result is sized and CRC'd."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import zlib
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.durable import sync_directory
from service.errors import RenderFailed
from service.processing.children import DIE_WITH_PARENT
from service.processing.effects import Effects
from service.processing.progress import FFMPEG_OPTIONS, ProgressParser, RenderProgress
from service.processing.stderr_tail import StderrTail

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 1024 * 1024
"""Checksum read size: large enough that the per-call overhead vanishes."""
PARTIAL_SUFFIX = ".partial"
STDERR_TAIL_LINES = 10
STDERR_TAIL_CHARS = 2000
"""How much of ffmpeg's stderr a RenderFailed carries: enough for the reason, bounded."""


class RenderCancelled(Exception):
    """The job's cancel was asked for mid-render: ffmpeg was killed, its partial file deleted."""


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """A finished output, with what the ZIP download needs to lay it out unread."""

    path: Path
    size: int
    crc32: int


def ffmpeg_args(
    ffmpeg: str, source: Path, output: Path, effects: Effects, *, threads: int | None = None
) -> list[str]:
    """The exact argv of a render; pure, so a benchmark can run the same command.

    Metadata, chapters, encoder version tags and x264's settings banner (an SEI unit,
    NAL type 6) are all dropped, and bitexact flags keep library versions out of the
    file: the output reveals nothing about the source or our tools, and the same input,
    effects, ffmpeg build and thread count give the same bytes. Paths go in as `file:`
    URLs so a name with a colon is never taken for a protocol. `threads` caps decoder,
    filters and encoder alike (the worker shares the cores out between its renders);
    None lets ffmpeg use every core for each."""
    shared = [] if threads is None else ["-filter_threads", str(threads), "-threads", str(threads)]
    args = [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y",
        *shared,  # the filter graph's and (before -i) the decoder's threads
        "-i", f"file:{source}",
        "-map", "0:v:0", "-map", "0:a?",
        "-vf", effects.filter_graph(),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-bsf:v", "filter_units=remove_types=6",
        "-c:a", "aac",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart",
    ]  # fmt: skip
    if threads is not None:
        args += ["-threads", str(threads)]  # the encoder's
    # -f because the partial name's extension tells ffmpeg nothing.
    return [*args, "-f", "mp4", f"file:{output}"]


async def render_variation(
    ffmpeg: str,
    source: Path,
    target: Path,
    effects: Effects,
    *,
    threads: int | None = None,
    timeout_s: float | None = None,
    cancel: asyncio.Event | None = None,
    on_progress: Callable[[RenderProgress], None] | None = None,
) -> RenderedFile:
    """Render `source` with `effects` to `target` (an MP4), or raise RenderFailed.

    `target` appears only complete: ffmpeg writes `<target>.partial` beside it, which is
    renamed on success and deleted on failure, timeout or cancellation (ffmpeg is killed
    and reaped first). `threads=None` lets ffmpeg choose. Setting `cancel` kills ffmpeg
    at once and raises RenderCancelled once the partial file is gone. `on_progress` gets
    ffmpeg's `-progress` reports (about 4 a second, and one at the end)."""
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    args = ffmpeg_args(ffmpeg, source, partial, effects, threads=threads)
    if on_progress is not None:
        args[1:1] = FFMPEG_OPTIONS
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL if on_progress is None else asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=DIE_WITH_PARENT,
    )
    assert proc.stderr is not None
    tail = StderrTail(max_lines=STDERR_TAIL_LINES)
    try:
        async with asyncio.timeout(timeout_s):
            returncode = await _unless_cancelled(_finish(proc, tail, on_progress), cancel)
    except BaseException as exc:
        with suppress(ProcessLookupError):
            proc.kill()  # synchronous: ffmpeg dies even if the cleanup below is cut short
        await asyncio.shield(_reap_and_discard(proc, partial))
        if isinstance(exc, TimeoutError):
            raise RenderFailed(
                source, tail.text(STDERR_TAIL_CHARS), f"ffmpeg timed out after {timeout_s:g} s"
            ) from None
        raise
    if returncode != 0:
        await asyncio.to_thread(_discard, partial)
        raise RenderFailed(
            source, tail.text(STDERR_TAIL_CHARS), f"ffmpeg exited with status {returncode}"
        )
    sealing = asyncio.ensure_future(asyncio.to_thread(_seal, partial, target))
    try:
        rendered = await asyncio.shield(sealing)
    except asyncio.CancelledError:
        # The thread cannot be stopped: let it finish, then undo it, so a cancelled
        # render leaves no file whatever moment the cancel lands.
        await asyncio.shield(_undo_seal(sealing, partial, target))
        raise
    log.info(
        "rendered %s", target.name,
        extra={
            "action": "render.done", "source": str(source), "target": str(target),
            "size": rendered.size, "seconds": round(time.monotonic() - started, 3),
        },
    )  # fmt: skip
    return rendered


async def _finish(
    proc: asyncio.subprocess.Process,
    tail: StderrTail,
    on_progress: Callable[[RenderProgress], None] | None,
) -> int:
    assert proc.stderr is not None
    if on_progress is None or proc.stdout is None:
        await tail.collect(proc.stderr)
    else:
        # stdout's lines go through the same bounded line reader as stderr's
        reports = StderrTail(max_lines=1, on_line=ProgressParser(on_progress).line)
        await asyncio.gather(tail.collect(proc.stderr), reports.collect(proc.stdout))
    return await proc.wait()


async def _unless_cancelled(work: Coroutine[Any, Any, int], cancel: asyncio.Event | None) -> int:
    """`work`'s result, or RenderCancelled as soon as `cancel` is set (`work` is cancelled)."""
    if cancel is None:
        return await work
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise RenderCancelled()
    return task.result()


async def _reap_and_discard(proc: asyncio.subprocess.Process, partial: Path) -> None:
    await proc.wait()
    await asyncio.to_thread(_discard, partial)


async def _undo_seal(sealing: asyncio.Future[RenderedFile], partial: Path, target: Path) -> None:
    with suppress(Exception):
        await sealing
    await asyncio.to_thread(_discard, partial, target)


def _seal(partial: Path, target: Path) -> RenderedFile:
    """Checksum the finished partial file, force it to disk and rename it to `target`,
    then force the rename to disk. Blocking: runs in a thread, in one hop. The CRC is
    taken before the rename, so the target never exists without it, and the caller
    records the output only once a power cut can no longer take it back."""
    try:
        crc, size = 0, 0
        with partial.open("rb") as f:
            while chunk := f.read(READ_CHUNK_BYTES):
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
            os.fsync(f.fileno())
        os.replace(partial, target)
        sync_directory(target.parent)
    except BaseException:
        _discard(partial)
        raise
    return RenderedFile(path=target, size=size, crc32=crc)


def _discard(*paths: Path) -> None:
    """Delete leftovers; a missing one is already gone. Blocking: runs in a thread."""
    for path in paths:
        path.unlink(missing_ok=True)
