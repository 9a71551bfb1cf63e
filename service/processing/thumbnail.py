"""A small JPEG of a video's first frame (320 px wide), for the page to show before anyone
plays or downloads anything.

A thumbnail is a convenience: when ffmpeg cannot make one, the render still counts and
the page shows a placeholder, so every failure here is logged and becomes None.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from contextlib import suppress
from pathlib import Path

from service.durable import sync_directory
from service.events.job import Thumbnail
from service.processing.children import DIE_WITH_PARENT

log = logging.getLogger(__name__)

WIDTH_PX = 320
TIMEOUT_S = 30.0  # one frame of a header-checked video takes well under a second
SEEK_S = 0.5  # past a fade-in's black first frame, yet inside even a one-second clip


def thumbnail_args(ffmpeg: str, source: Path, partial: Path, seek_s: float) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", str(seek_s), "-i", f"file:{source}", "-frames:v", "1",
        "-vf", f"scale={WIDTH_PX}:-2", "-q:v", "5", "-map_metadata", "-1",
        "-f", "image2", "-c:v", "mjpeg", f"file:{partial}",
    ]  # fmt: skip


async def make_thumbnail(
    ffmpeg: str, source: Path, data_dir: Path, relative: str
) -> Thumbnail | None:
    """Write `data_dir/relative` from the frame at SEEK_S (a clip shorter than that: its
    first frame); None when neither works."""
    target = data_dir / relative
    partial = target.with_name(target.name + ".partial")
    for seek_s in (SEEK_S, 0.0):
        args = thumbnail_args(ffmpeg, source, partial, seek_s)
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, preexec_fn=DIE_WITH_PARENT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(TIMEOUT_S):
                returncode = await proc.wait()
        except TimeoutError:
            with suppress(ProcessLookupError):
                proc.kill()
            returncode = await proc.wait()
        except BaseException:  # cancelled: ffmpeg dies with the attempt, nothing is left
            with suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
            await asyncio.shield(asyncio.to_thread(partial.unlink, missing_ok=True))
            raise
        if returncode == 0:
            sealed = await asyncio.to_thread(_seal, partial, target)
            if sealed is not None:
                return Thumbnail(path=relative, size=sealed[0], sha256=sealed[1])
    await asyncio.to_thread(partial.unlink, missing_ok=True)
    log.warning("no thumbnail for %s", source.name, extra={"action": "thumbnail.failed"})
    return None


def _seal(partial: Path, target: Path) -> tuple[int, str] | None:
    """Size and SHA-256, fsync, rename into place; None if ffmpeg wrote nothing.
    Blocking: runs in a thread."""
    try:
        data = partial.read_bytes()
    except FileNotFoundError:
        return None
    if not data:
        partial.unlink(missing_ok=True)
        return None
    with partial.open("rb") as file:
        os.fsync(file.fileno())
    os.replace(partial, target)
    sync_directory(target.parent)
    return len(data), hashlib.sha256(data).hexdigest()
