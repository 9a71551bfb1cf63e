"""The render's look against the graph it replaced (ffmpeg's `rotate`, issue 13): the
same rotation about the centre with black uncovered corners, the same picture by SSIM,
measured on real ffmpeg output, never on the filter string."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from service.processing.effects import Effects
from service.processing.render import ffmpeg_args, render_variation
from service.processing.similarity import ssim
from tests.clips import make_clip

EFFECTS = Effects(rotation_rad=-0.0085, brightness=0.03, contrast=0.96, saturation=1.04)
WIDTH, HEIGHT = 320, 240
WHITE_TO = 200
"""The edge pattern: white left of this column, black from it on."""


@pytest.fixture(scope="module")
def detailed_clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of testsrc2 (moving shapes, text, gradients) with audio, as an ad would be."""
    d = tmp_path_factory.mktemp("look")
    return make_clip(
        ffmpeg, d / "detailed.mp4",
        "-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate=25:duration=2",
        "-f", "lavfi", "-i", "sine=frequency=330:duration=2",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p",
        "-c:a", "aac",
    )  # fmt: skip


@pytest.fixture(scope="module")
def edge_clip(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A still vertical edge, nearly lossless: where it lands measures the rotation."""
    d = tmp_path_factory.mktemp("edge")
    return make_clip(
        ffmpeg, d / "edge.mp4",
        "-f", "lavfi",
        "-i", f"color=white:size={WIDTH}x{HEIGHT}:rate=10:duration=0.3,"
              f"drawbox=x={WHITE_TO}:y=0:w={WIDTH - WHITE_TO}:h={HEIGHT}:color=black:t=fill",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
    )  # fmt: skip


def render_today(ffmpeg: str, source: Path, target: Path, effects: Effects) -> Path:
    """The same argv with the graph before issue 13."""
    args = ffmpeg_args(ffmpeg, source, target, effects)
    args[args.index("-vf") + 1] = effects.rotate_filter_graph()
    subprocess.run(args, check=True, capture_output=True, timeout=60)
    return target


def render_now(ffmpeg: str, source: Path, target: Path, effects: Effects) -> Path:
    return asyncio.run(render_variation(ffmpeg, source, target, effects)).path


def first_frame_luma(ffmpeg: str, video: Path) -> list[bytes]:
    """The first frame's Y plane, one bytes object per row."""
    run = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(video), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    return [run.stdout[y * WIDTH : (y + 1) * WIDTH] for y in range(HEIGHT)]


def edge_at(row: bytes) -> float:
    """Where a white-to-black row crosses mid-grey, to a fraction of a pixel."""
    mid = 128
    for x in range(WIDTH // 4, WIDTH - 1):
        if row[x] >= mid > row[x + 1]:
            return x + (row[x] - mid) / (row[x] - row[x + 1])
    raise AssertionError("no edge in the row")


def test_the_output_looks_like_todays_render_of_the_same_effects(
    ffmpeg: str, detailed_clip: Path, tmp_path: Path
) -> None:
    # When one clip is rendered with the same effects by both graphs
    now = render_now(ffmpeg, detailed_clip, tmp_path / "now.mp4", EFFECTS)
    today = render_today(ffmpeg, detailed_clip, tmp_path / "today.mp4", EFFECTS)
    # Then they look the same (the bar: SSIM >= 0.99) and are as far from the
    # source as today's (within 0.005)
    assert ssim(ffmpeg, now, today) >= 0.99
    assert abs(ssim(ffmpeg, now, detailed_clip) - ssim(ffmpeg, today, detailed_clip)) <= 0.005
    # and are about the same size
    assert now.stat().st_size <= 1.1 * today.stat().st_size


@pytest.mark.parametrize("angle", [0.1, -0.1])
def test_an_edge_turns_about_the_centre_by_the_angle_like_todays_render(
    ffmpeg: str, edge_clip: Path, tmp_path: Path, angle: float
) -> None:
    # Given a vertical edge, rotated by a large angle so the movement is easy to measure
    effects = Effects(rotation_rad=angle, brightness=0, contrast=1, saturation=1)
    now = first_frame_luma(ffmpeg, render_now(ffmpeg, edge_clip, tmp_path / "n.mp4", effects))
    today = first_frame_luma(ffmpeg, render_today(ffmpeg, edge_clip, tmp_path / "t.mp4", effects))
    # Then, 100 rows above and below the centre row, the edge has moved sideways by
    # tan(angle) per row, in rotate's sense, as today's does, and the centre stays put
    top, middle, bottom = (HEIGHT - 1) / 2 - 100, (HEIGHT - 1) / 2, (HEIGHT - 1) / 2 + 100
    expected_shift = -200 * angle / (1 - angle**2 / 2)  # -200 tan(angle), to 1e-4
    for frame in (now, today):
        shift = edge_at(frame[int(bottom)]) - edge_at(frame[int(top)])
        assert shift == pytest.approx(expected_shift, abs=0.5)
    centre = (edge_at(now[int(middle)]) + edge_at(now[int(middle) + 1])) / 2
    assert centre == pytest.approx(WHITE_TO - 0.5, abs=0.5)
    # And the corner the rotation uncovers is black (limited-range Y 16), not smeared
    corner = (0, 0) if angle > 0 else (0, HEIGHT - 1)  # x, y of a white corner turned away
    for frame in (now, today):
        x, y = corner
        assert frame[y][x] < 40, frame[y][x]
    # while the same corner's neighbour well inside is still white
    assert now[HEIGHT // 2][2] > 200
