"""A small JPEG of a video's frame (320 px wide), for the page to show before anyone plays
or downloads anything.

A thumbnail is a convenience: when ffmpeg cannot make one, the render still counts and
the page shows a placeholder, so every failure here is logged and becomes None.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from service.processing.children import DIE_WITH_PARENT

log = logging.getLogger(__name__)

WIDTH_PX = 320
TIMEOUT_S = 30.0  # one frame of a header-checked video takes well under a second
SEEK_S = 0.5  # past a fade-in's black first frame, yet inside even a one-second clip


@dataclass(frozen=True)
class LocalThumbnail:
    path: Path
    size: int
    sha256: str


def thumbnail_args(ffmpeg: str, source: Path, target: Path, seek_s: float) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", str(seek_s), "-i", f"file:{source}", "-frames:v", "1",
        "-vf", f"scale={WIDTH_PX}:-2", "-q:v", "5", "-map_metadata", "-1",
        "-f", "image2", "-c:v", "mjpeg", f"file:{target}",
    ]  # fmt: skip


async def make_thumbnail(ffmpeg: str, source: Path, target: Path) -> LocalThumbnail | None:
    """Write `target` (a scratch file) from the frame at SEEK_S (a clip shorter than that:
    its first frame); None when neither works."""
    for seek_s in (SEEK_S, 0.0):
        proc = await asyncio.create_subprocess_exec(
            *thumbnail_args(ffmpeg, source, target, seek_s),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, preexec_fn=DIE_WITH_PARENT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(TIMEOUT_S):
                returncode = await proc.wait()
        except TimeoutError:
            with suppress(ProcessLookupError):
                proc.kill()
            returncode = await proc.wait()
        except BaseException:  # cancelled: ffmpeg dies with the attempt
            with suppress(ProcessLookupError):
                proc.kill()
            await asyncio.shield(proc.wait())
            raise
        if returncode == 0:
            made = await asyncio.to_thread(_measure, target)
            if made is not None:
                return made
    log.warning("no thumbnail for %s", source.name, extra={"action": "thumbnail.failed"})
    return None


def _measure(target: Path) -> LocalThumbnail | None:
    """Size and SHA-256; None if ffmpeg wrote nothing. Blocking: runs in a thread."""
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return None
    if not data:
        return None
    return LocalThumbnail(target, len(data), hashlib.sha256(data).hexdigest())
