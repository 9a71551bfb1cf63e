"""Probing: a duration for real videos, ProbeFailed for everything else."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from service.errors import ProbeFailed
from service.processing.probe import probe_duration
from tests.clips import CLIP_SECONDS, TinyClips


@pytest.mark.parametrize("clip", ["mp4", "mov", "odd_size"])
async def test_a_real_video_reports_its_duration(
    ffmpeg: str, tiny_clips: TinyClips, clip: str
) -> None:
    # Given a 1-second clip / When probed / Then its duration is about 1 s
    duration = await probe_duration(ffmpeg, getattr(tiny_clips, clip))
    assert duration == pytest.approx(CLIP_SECONDS, abs=0.1)


async def test_a_corrupt_mp4_fails_with_ffmpegs_reason(ffmpeg: str, tiny_clips: TinyClips) -> None:
    # Given a file that only looks like MP4 / When probed
    with pytest.raises(ProbeFailed) as caught:
        await probe_duration(ffmpeg, tiny_clips.corrupt)
    # Then the error names the file and carries ffmpeg's last words, trimmed
    err = caught.value
    assert err.file == tiny_clips.corrupt
    assert "moov atom not found" in err.detail
    assert "At least one output file" not in err.detail
    assert len(err.detail) <= 2000
    assert err.status == 422


async def test_a_file_that_is_not_media_fails(ffmpeg: str, tiny_clips: TinyClips) -> None:
    with pytest.raises(ProbeFailed, match="Invalid data"):
        await probe_duration(ffmpeg, tiny_clips.text)


async def test_audio_without_video_fails(ffmpeg: str, tiny_clips: TinyClips) -> None:
    with pytest.raises(ProbeFailed, match="no video stream"):
        await probe_duration(ffmpeg, tiny_clips.audio_only)


async def test_a_missing_file_fails(ffmpeg: str, tmp_path: Path) -> None:
    with pytest.raises(ProbeFailed, match="No such file"):
        await probe_duration(ffmpeg, tmp_path / "gone.mp4")


async def test_a_probe_that_hangs_is_killed_at_its_timeout(ffmpeg: str, tmp_path: Path) -> None:
    # Given an input that blocks forever (a FIFO nobody writes to)
    fifo = tmp_path / "stuck.mp4"
    os.mkfifo(fifo)
    # When probed with a short timeout / Then it fails in time and ffmpeg is gone
    with pytest.raises(ProbeFailed, match="did not finish"):
        await probe_duration(ffmpeg, fifo, timeout_s=0.3)
    assert [p for p in psutil.Process().children() if "ffmpeg" in p.name().lower()] == []
