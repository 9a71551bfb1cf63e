"""How fast can a render get with the same look? The floor under issue 13's 1.6x.

    .venv/bin/python bench/render.py floor [--sizes 1920x1080,1280x720] [--seconds 15]
        [--clips DIR]

On the same mandelbrot clips as `bench/render.py pipelines`, one render at a time with
one thread (so CPU seconds add up without threading overhead), on one draw of effects:

- (a) the graph before issue 13 (`rotate`) and (b) the service's graph, whole renders;
- the floor: decoding the source alone, plus encoding (a)'s own rotated frames, handed
  over raw, with the service's encoder settings. A rotation that cost nothing could not
  beat decode + encode of the same frames: (a) / floor is the most any rotation can gain;
- faster x264 presets on (b)'s graph, with their size and SSIM against (a): what
  trading the encoder's effort for speed does to the look;
- if OpenCV is installed (`pip install opencv-python-headless numpy`, not a dependency
  of the service), a vectorised warp: ffmpeg decodes to raw frames, `cv2.warpAffine`
  rotates them (SIMD), ffmpeg applies eq and encodes; CPU of all three processes.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from bench._pipelines import SEED, make_clip
from service.processing.effects import Effects, draw_effects
from service.processing.ffmpeg_binary import locate_ffmpeg
from service.processing.render import ffmpeg_args
from service.processing.similarity import ssim

PRESETS = [("superfast", 20), ("superfast", 22), ("ultrafast", 22)]
Y_BLACK, C_NEUTRAL = 16, 128
"""yuv420p black in the limited range `rotate` fills with."""


def child_cpu(run: Callable[[], object]) -> float:
    """CPU seconds (user + system) the children started by `run` used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def one_thread_argv(ffmpeg: str, src: Path, out: Path, effects: Effects, graph: str) -> list[str]:
    args = ffmpeg_args(ffmpeg, src, out, effects, threads=1)
    args[args.index("-vf") + 1] = graph
    return args


def raw_input_argv(
    ffmpeg: str, raw: Path, src: Path, out: Path, effects: Effects, size: str, vf: str | None
) -> list[str]:
    """The service's encode of raw frames (`raw`, or stdin for "-"), audio from `src`."""
    args = ffmpeg_args(ffmpeg, src, out, effects, threads=1)
    at = args.index("-i")
    raw_in = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size, "-r", "30",
              "-i", "pipe:0" if str(raw) == "-" else f"file:{raw}"]  # fmt: skip
    args[at:at] = raw_in
    args[args.index("0:v:0")] = "0:v"
    args[args.index("0:a?")] = "1:a?"
    graph_at = args.index("-vf")
    if vf is None:
        del args[graph_at : graph_at + 2]
    else:
        args[graph_at + 1] = vf
    return args


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


def measure_size(ffmpeg: str, clip: Path, size: str, work: Path) -> None:
    effects = draw_effects(1, seed=SEED)[0]
    today = work / "a.mp4"
    now = work / "b.mp4"
    cpu_a = child_cpu(lambda: run(one_thread_argv(ffmpeg, clip, today, effects,
                                                  effects.rotate_filter_graph())))  # fmt: skip
    cpu_b = child_cpu(lambda: run(one_thread_argv(ffmpeg, clip, now, effects,
                                                  effects.filter_graph())))  # fmt: skip
    size_a = today.stat().st_size
    print(f"{size}: (a) rotate {cpu_a:.2f} CPU s, (b) now {cpu_b:.2f} CPU s "
          f"({cpu_a / cpu_b:.2f}x); effects {effects}")  # fmt: skip

    raw = Path(tempfile.mkstemp(dir=_raw_dir(), suffix=".yuv")[1])
    try:
        run([ffmpeg, "-v", "error", "-y", "-i", f"file:{clip}", "-map", "0:v:0",
             "-vf", effects.rotate_filter_graph(), "-pix_fmt", "yuv420p",
             "-f", "rawvideo", f"file:{raw}"])  # fmt: skip
        decode_only = [ffmpeg, "-v", "error", "-threads", "1", "-i", f"file:{clip}", "-an",
                       "-f", "null", "-"]  # fmt: skip
        decode = child_cpu(lambda: run(decode_only))
        floor_out = work / "floor.mp4"
        encode = child_cpu(lambda: run(raw_input_argv(ffmpeg, raw, clip, floor_out, effects,
                                                      size, None)))  # fmt: skip
    finally:
        raw.unlink()
    floor = decode + encode
    print(f"  floor: decode {decode:.2f} + encode of (a)'s frames {encode:.2f} = {floor:.2f} "
          f"CPU s -> at most {cpu_a / floor:.2f}x over (a) with a free rotation")  # fmt: skip

    for preset, crf in PRESETS:
        out = work / f"{preset}-{crf}.mp4"
        argv = one_thread_argv(ffmpeg, clip, out, effects, effects.filter_graph())
        argv[argv.index("-preset") + 1] = preset
        argv[argv.index("-crf") + 1] = str(crf)
        cpu = child_cpu(lambda argv=argv: run(argv))
        print(
            f"  {preset} crf {crf}: {cpu:.2f} CPU s ({cpu_a / cpu:.2f}x), size "
            f"{out.stat().st_size / size_a:.2f}x (a), SSIM vs (a) {ssim(ffmpeg, out, today):.4f},"
            f" vs source {ssim(ffmpeg, out, clip):.4f} ((a): {ssim(ffmpeg, today, clip):.4f})"
        )

    warped = work / "warp.mp4"
    try:
        cpu_w, wall_w = warp_render(ffmpeg, clip, warped, effects, size)
    except ImportError:
        print("  vectorised warp: not measured (pip install opencv-python-headless numpy)")
        return
    print(
        f"  cv2.warpAffine between two ffmpegs: {cpu_w:.2f} CPU s ({cpu_a / cpu_w:.2f}x), "
        f"{wall_w:.2f} s wall, size {warped.stat().st_size / size_a:.2f}x (a), SSIM vs (a) "
        f"{ssim(ffmpeg, warped, today):.4f}, vs source {ssim(ffmpeg, warped, clip):.4f}"
    )


def warp_render(
    ffmpeg: str, clip: Path, out: Path, effects: Effects, size: str
) -> tuple[float, float]:
    """Decode -> cv2.warpAffine per plane -> eq + encode; (CPU s of all, wall s)."""
    import cv2  # optional: only this measurement needs it
    import numpy as np

    cv2.setNumThreads(1)
    width, height = (int(n) for n in size.split("x"))
    luma, chroma = width * height, width * height // 4
    started, own_before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    decoder = subprocess.Popen(
        [ffmpeg, "-v", "error", "-nostdin", "-threads", "1", "-i", f"file:{clip}",
         "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    eq_only = effects.filter_graph().split(",")[-1]
    encoder = subprocess.Popen(
        raw_input_argv(ffmpeg, Path("-"), clip, out, effects, size, eq_only),
        stdin=subprocess.PIPE,
    )
    assert decoder.stdout is not None and encoder.stdin is not None
    frame = bytearray(luma + 2 * chroma)
    source = np.frombuffer(frame, np.uint8)
    target = np.empty_like(source)
    planes = [
        (slice(0, luma), (height, width), Y_BLACK),
        (slice(luma, luma + chroma), (height // 2, width // 2), C_NEUTRAL),
        (slice(luma + chroma, luma + 2 * chroma), (height // 2, width // 2), C_NEUTRAL),
    ]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    while _read_exactly(decoder.stdout, frame):
        for where, shape, fill in planes:
            h, w = shape
            cv2.warpAffine(
                source[where].reshape(shape), _rotation(effects.rotation_rad, w, h), (w, h),
                dst=target[where].reshape(shape), flags=flags,
                borderMode=cv2.BORDER_CONSTANT, borderValue=fill,
            )  # fmt: skip
        encoder.stdin.write(target.data)
    encoder.stdin.close()
    if encoder.wait() or decoder.wait():
        raise RuntimeError("ffmpeg failed in the warp pipeline")
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        getattr(after, f) - getattr(before, f)
        for after, before in ((own, own_before), (children, children_before))
        for f in ("ru_utime", "ru_stime")
    )
    return cpu, time.perf_counter() - started


def _rotation(angle: float, width: int, height: int) -> Any:  # a numpy array
    """`rotate`'s inverse map about the plane's centre: output pixel -> source position."""
    import numpy as np

    c, s = math.cos(angle), math.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy]])


def _read_exactly(stream: IO[bytes], buffer: bytearray) -> bool:
    view, got = memoryview(buffer), 0
    while got < len(buffer):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            return False
        got += n
    return True


def _raw_dir() -> str | None:
    """Raw 1080p frames are 1.4 GB for 15 s: keep them in memory where there is a tmpfs."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/render.py floor")
    parser.add_argument("--sizes", default="1920x1080,1280x720")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clips", type=Path, help="folder to keep the clips in between runs")
    args = parser.parse_args(argv)
    ffmpeg = locate_ffmpeg(None)
    with tempfile.TemporaryDirectory(prefix="vr-bench-floor-") as tmp:
        work = Path(tmp)
        clips = args.clips or work
        clips.mkdir(parents=True, exist_ok=True)
        print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; one render at a time, "
              "one thread; CPU seconds per render")  # fmt: skip
        for size in args.sizes.split(","):
            measure_size(ffmpeg, make_clip(ffmpeg, clips, size, args.seconds), size, work)
    print(f"load at the end {os.getloadavg()[0]:.1f}")
