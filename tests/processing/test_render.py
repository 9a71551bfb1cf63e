"""Rendering a variation, checked by an independent reader (ffmpeg decoding the output,
zlib over its bytes), never by the renderer's own word."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import zlib
from pathlib import Path

import psutil
import pytest

from service.errors import RenderFailed
from service.processing.effects import Effects
from service.processing.render import RenderedFile, ffmpeg_args, render_variation
from tests.clips import TinyClips
from tests.support import record_fsyncs

EFFECTS = Effects(rotation_rad=-0.005, brightness=0.02, contrast=1.03, saturation=0.97)
OTHER_EFFECTS = Effects(rotation_rad=0.008, brightness=-0.03, contrast=0.96, saturation=1.04)


def header_of(ffmpeg: str, path: Path) -> str:
    """`ffmpeg -i`'s header dump: codecs, pixel format, size and tags."""
    run = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True
    )
    return run.stderr


def decode_errors(ffmpeg: str, path: Path) -> tuple[int, str]:
    """Decode every frame and sample; a playable file gives (0, '')."""
    run = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    return run.returncode, run.stderr


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def has_bytes(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


def render_once(ffmpeg: str, source: Path, target: Path, effects: Effects) -> RenderedFile:
    return asyncio.run(render_variation(ffmpeg, source, target, effects))


@pytest.fixture(scope="module")
def rendered(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path_factory: pytest.TempPathFactory
) -> RenderedFile:
    """The tiny MP4 rendered once; several tests read the same output."""
    out = tmp_path_factory.mktemp("rendered") / "var1.mp4"
    return render_once(ffmpeg, tiny_clips.mp4, out, EFFECTS)


def test_the_output_decodes_fully_without_errors(ffmpeg: str, rendered: RenderedFile) -> None:
    assert decode_errors(ffmpeg, rendered.path) == (0, "")


def test_the_output_is_h264_yuv420p_at_the_source_size_with_aac_audio(
    ffmpeg: str, rendered: RenderedFile
) -> None:
    header = header_of(ffmpeg, rendered.path)
    assert re.search(r"Video: h264 .*yuv420p.*160x120", header)
    assert "Audio: aac" in header
    assert "Duration: 00:00:01.0" in header


def test_size_and_crc32_describe_the_file_on_disk(rendered: RenderedFile) -> None:
    data = rendered.path.read_bytes()
    assert rendered.size == len(data)
    assert rendered.crc32 == zlib.crc32(data)


def test_source_metadata_and_tool_versions_are_stripped(
    ffmpeg: str, tiny_clips: TinyClips, rendered: RenderedFile
) -> None:
    # Given a source with a title and a creation time
    assert "secret campaign" in header_of(ffmpeg, tiny_clips.mp4)
    # Then the output has neither, no library versions, and no x264 settings banner
    header = header_of(ffmpeg, rendered.path)
    assert "secret campaign" not in header
    assert "creation_time" not in header
    assert not re.search(r"Lav[fc]\d", header)  # bitexact leaves only "Lavc libx264"
    assert b"x264 - core" not in rendered.path.read_bytes()


def test_only_the_target_is_left_no_partial_file(rendered: RenderedFile) -> None:
    assert [p.name for p in rendered.path.parent.iterdir()] == [rendered.path.name]


def test_an_odd_sized_silent_source_renders_at_the_nearest_even_size(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # Given a 161x121 source without audio / When rendered
    out = render_once(ffmpeg, tiny_clips.odd_size, tmp_path / "odd.mp4", EFFECTS)
    # Then it is 160x120 yuv420p, plays, and has no audio stream
    header = header_of(ffmpeg, out.path)
    assert re.search(r"Video: h264 .*yuv420p.*160x120", header)
    assert "Audio:" not in header
    assert decode_errors(ffmpeg, out.path) == (0, "")


def test_a_mov_with_pcm_audio_becomes_an_mp4_with_aac(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    out = render_once(ffmpeg, tiny_clips.mov, tmp_path / "mov.mp4", EFFECTS)
    header = header_of(ffmpeg, out.path)
    assert "mov,mp4" in header and "Video: h264" in header and "Audio: aac" in header
    assert decode_errors(ffmpeg, out.path) == (0, "")


def test_different_effects_give_different_bytes_and_the_same_effects_the_same_bytes(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # When one source is rendered twice with one combination and once with another
    a = render_once(ffmpeg, tiny_clips.mp4, tmp_path / "a.mp4", EFFECTS)
    a2 = render_once(ffmpeg, tiny_clips.mp4, tmp_path / "a2.mp4", EFFECTS)
    b = render_once(ffmpeg, tiny_clips.mp4, tmp_path / "b.mp4", OTHER_EFFECTS)
    # Then the variations differ, and a re-render reproduces its file exactly
    assert a.crc32 != b.crc32
    assert a.path.read_bytes() != b.path.read_bytes()
    assert a.path.read_bytes() == a2.path.read_bytes()


async def test_the_output_is_forced_to_disk_before_and_after_its_rename(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a record of every file and folder fsynced
    synced = record_fsyncs(monkeypatch)
    # When a variation is rendered
    target = tmp_path / "var1.mp4"
    await render_variation(ffmpeg, tiny_clips.mp4, target, EFFECTS)
    # Then the complete partial file, then the folder holding its new name, were fsynced
    assert synced == [str(target) + ".partial", str(tmp_path)]


async def test_a_corrupt_source_fails_with_a_trimmed_reason_and_leaves_no_file(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # Given a file that only looks like MP4 / When rendered
    with pytest.raises(RenderFailed) as caught:
        await render_variation(ffmpeg, tiny_clips.corrupt, tmp_path / "out.mp4", EFFECTS)
    # Then the error names the source and carries ffmpeg's last lines, bounded
    err = caught.value
    assert err.file == tiny_clips.corrupt
    assert "moov atom not found" in err.detail
    assert 0 < len(err.detail) <= 2000 and err.detail.count("\n") < 10
    # And nothing is left behind
    assert files_in(tmp_path) == []


async def test_a_render_past_its_timeout_is_killed_and_leaves_no_file(
    ffmpeg: str, long_clip: Path, tmp_path: Path
) -> None:
    with pytest.raises(RenderFailed, match="timed out"):
        await render_variation(ffmpeg, long_clip, tmp_path / "out.mp4", EFFECTS, timeout_s=0.2)
    assert files_in(tmp_path) == []
    assert _ffmpeg_children() == []


async def test_cancelling_a_render_kills_ffmpeg_and_leaves_no_file(
    ffmpeg: str, long_clip: Path, tmp_path: Path
) -> None:
    # Given a render that is under way: ffmpeg runs and has written output
    target = tmp_path / "out.mp4"
    partial = tmp_path / "out.mp4.partial"
    task = asyncio.create_task(render_variation(ffmpeg, long_clip, target, EFFECTS))
    deadline = time.monotonic() + 5
    while not has_bytes(partial):
        assert time.monotonic() < deadline and not task.done(), "render never got going"
        await asyncio.sleep(0.01)
    (child,) = _ffmpeg_children()
    # When it is cancelled
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Then ffmpeg is gone (killed and reaped, not a zombie) and so are its files
    assert not child.is_running()
    assert _ffmpeg_children() == []
    assert files_in(tmp_path) == []


def test_the_argv_is_a_plain_list_that_runs_without_a_shell(tmp_path: Path) -> None:
    args = ffmpeg_args("ffmpeg", Path("in put.mov"), tmp_path / "o.mp4", EFFECTS, threads=2)
    assert args[0] == "ffmpeg"
    assert args[args.index("-i") + 1] == "file:in put.mov"  # a space stays inside one argument
    assert args[args.index("-vf") + 1] == EFFECTS.filter_graph()
    assert args[-3:] == ["-f", "mp4", f"file:{tmp_path / 'o.mp4'}"]
    assert "-threads" not in ffmpeg_args("ffmpeg", Path("a"), Path("b"), EFFECTS)


def test_the_argv_for_recorded_effects_and_one_thread_is_pinned() -> None:
    # Given effects as a VariationRendered records them, and one thread per render
    args = ffmpeg_args("ffmpeg", Path("in.mp4"), Path("out.mp4.partial"), EFFECTS, threads=1)
    # Then the command is exactly this: one thread for decoder, filters and encoder;
    # H.264 yuv420p at CRF 20 in MP4 with +faststart; metadata, chapters, version tags and
    # x264's SEI banner dropped
    assert args == [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y",
        "-filter_threads", "1", "-threads", "1",
        "-i", "file:in.mp4",
        "-map", "0:v:0", "-map", "0:a?",
        "-vf", EFFECTS.filter_graph(),
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
        "-bsf:v", "filter_units=remove_types=6",
        "-c:a", "aac",
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-movflags", "+faststart",
        "-threads", "1",
        "-f", "mp4", "file:out.mp4.partial",
    ]  # fmt: skip


def test_the_index_comes_before_the_media_so_playback_starts_at_once(
    rendered: RenderedFile,
) -> None:
    data = rendered.path.read_bytes()
    assert 0 < data.index(b"moov") < data.index(b"mdat")


def _ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name().lower()]


def test_a_file_name_with_a_colon_is_read_as_a_file_not_a_protocol(
    ffmpeg: str, tiny_clips: TinyClips, tmp_path: Path
) -> None:
    # Given a source and target whose names look like "protocol:rest", as relative paths
    source = tmp_path / "http:clip.mp4"
    source.write_bytes(tiny_clips.mp4.read_bytes())
    target = Path("https:out.mp4")
    # When rendered from inside their directory / Then it works
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        out = render_once(ffmpeg, Path("http:clip.mp4"), target, EFFECTS)
    assert (tmp_path / out.path).stat().st_size == out.size
