"""Real ffmpeg and tiny real clips, made once per session with lavfi test sources;
the fixtures are registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.processing.ffmpeg_binary import locate_ffmpeg

CLIP_SECONDS = 1
# An ftyp box (so it sniffs as MP4 by content) followed by bytes that decode as nothing.
_CORRUPT_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 16


@dataclass(frozen=True)
class TinyClips:
    """Small real inputs; each says in its name what it exercises."""

    mp4: Path
    """160x120, 10 fps, 1 s, H.264 + AAC, with a title and creation time to strip."""
    mov: Path
    """The same picture as a QuickTime MOV with PCM audio (not MP4-compatible as is)."""
    odd_size: Path
    """161x121 and silent: yuv420p needs even sizes, and there is no audio to map."""
    corrupt: Path
    """Looks like MP4 by its first bytes, decodes as nothing."""
    audio_only: Path
    """A real media file with no video stream."""
    text: Path
    """Not media at all."""


def make_clip(ffmpeg: str, out: Path, *inputs_and_options: str) -> Path:
    """Run ffmpeg once to write `out`; lavfi sources make clips without fixture files."""
    subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         *inputs_and_options, str(out)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return locate_ffmpeg(None)


@pytest.fixture(scope="session")
def tiny_clips(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> TinyClips:
    d = tmp_path_factory.mktemp("tiny_clips")
    picture = ["-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={CLIP_SECONDS}"]
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    mp4 = make_clip(
        ffmpeg, d / "clip.mp4", *picture, *sound, *h264, "-c:a", "aac",
        "-metadata", "title=secret campaign",
        "-metadata", "creation_time=2020-01-02T03:04:05Z",
    )  # fmt: skip
    mov = make_clip(ffmpeg, d / "clip.mov", *picture, *sound, *h264, "-c:a", "pcm_s16le")
    odd = make_clip(
        ffmpeg, d / "odd.mp4",
        "-f", "lavfi", "-i", f"testsrc=size=161x121:rate=10:duration={CLIP_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p",
    )  # fmt: skip
    audio = make_clip(ffmpeg, d / "audio.m4a", *sound, "-c:a", "aac")
    corrupt = d / "corrupt.mp4"
    corrupt.write_bytes(_CORRUPT_MP4)
    text = d / "notes.mp4"
    text.write_text("this is not a video\n")
    return TinyClips(mp4, mov, odd, corrupt, audio, text)


@pytest.fixture(scope="session")
def long_clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s at 640x480: made in ~0.3 s, but takes a render long enough to interrupt."""
    d = tmp_path_factory.mktemp("long_clip")
    return make_clip(
        ffmpeg, d / "long.mp4",
        "-f", "lavfi", "-i", "testsrc=size=640x480:rate=25:duration=10",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    )  # fmt: skip
