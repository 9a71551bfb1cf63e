"""Is this upload a video, and how long is it? Read from `ffmpeg -i`'s header dump,
because no ffprobe ships with imageio-ffmpeg."""

from __future__ import annotations

import asyncio
import re
from contextlib import suppress
from pathlib import Path

from service.errors import ProbeFailed
from service.processing.children import DIE_WITH_PARENT
from service.processing.stderr_tail import StderrTail

PROBE_TIMEOUT_S = 30.0
"""Reading a header takes milliseconds; anything near this is a stuck or hostile input."""

_DURATION = re.compile(r"^\s*Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: Video: ")


class _Header:
    """What the header dump says, collected line by line (a file with many chapters or
    tags would push these lines out of any bounded tail)."""

    def __init__(self) -> None:
        self.duration_s: float | None = None
        self.has_video = False

    def see(self, line: str) -> None:
        if self.duration_s is None and (m := _DURATION.match(line)):
            hours, minutes, seconds = m.groups()
            self.duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        elif _VIDEO_STREAM.match(line) and "(attached pic)" not in line:
            self.has_video = True  # cover art in an audio file is not a video


async def probe_duration(ffmpeg: str, path: Path, *, timeout_s: float = PROBE_TIMEOUT_S) -> float:
    """Return the duration in seconds of the video at `path`, or raise ProbeFailed.

    Only the container header is read: a file can pass this and still fail to decode,
    which the render then reports as RenderFailed."""
    header = _Header()
    tail = StderrTail(max_lines=10, on_line=header.see)
    # With no output file ffmpeg dumps the header and exits 1; that exit code is normal.
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-nostdin", "-i", f"file:{path}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=DIE_WITH_PARENT,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        async with asyncio.timeout(timeout_s):
            await tail.collect(proc.stderr)
            await proc.wait()
    except BaseException as exc:
        with suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        if isinstance(exc, TimeoutError):
            raise ProbeFailed(path, f"ffmpeg did not finish within {timeout_s:g} s") from None
        raise
    if not header.has_video:
        raise ProbeFailed(path, _without_usage_hint(tail), "no video stream found")
    if not header.duration_s:
        raise ProbeFailed(path, _without_usage_hint(tail), "the video has no known duration")
    return header.duration_s


def _without_usage_hint(tail: StderrTail) -> str:
    """The stderr tail minus ffmpeg's complaint that we gave it no output file."""
    lines = [ln for ln in tail.lines if "At least one output file" not in ln]
    return "\n".join(lines)[-2000:]
