"""Today's render against the one before issue 13 and the tool the service replaced.

    .venv/bin/python bench/render.py pipelines [--sizes 1920x1080,1280x720] [--seconds 15]
        [--rounds 3] [--clips DIR]

Makes one clip per size with ffmpeg's `mandelbrot` zoom (fine detail that moves every
frame, not flat colour) and a tone, 30 fps. Then, in rounds that alternate the
pipelines, each on the same effects (a new draw per round):

- (a) the graph before issue 13 (`rotate`), one render at a time, ffmpeg's own threads:
  what the service did before;
- (b) the service's render as it runs by default: `ffmpeg_args` with the worker's
  default number of renders at once, each with its share of the cores;
- (b1) the same graph one render at a time with ffmpeg's own threads (the graph's gain
  alone);
- (c) the command of the tool the service replaces (ultrafast, CRF 23 capped at 2 Mb/s,
  29.97 fps, `rotate` with a transparent fill);
- (z) (b) with the rotation taken out: the same decode, crop, eq and encode, as many at
  once as (b). No rotation, however fast, can beat it: it is the ceiling of issue 13's
  speed-up at the same encoder settings.

Per pipeline, medians over the rounds: throughput (seconds of source rendered per second
of wall time), CPU seconds per render (user + system of the ffmpeg processes), output
size, SSIM against the source, and for (b) and (b1) SSIM against (a)'s output of the same
round, whole and interior (2 % cropped from each side). Timings and CPU come from the
same run, so a busy machine slows every pipeline alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.processing.effects import Effects, draw_effects
from service.processing.ffmpeg_binary import locate_ffmpeg
from service.processing.render import ffmpeg_args
from service.processing.similarity import ssim
from service.processing.worker import default_concurrency, ffmpeg_threads

INTERIOR_MARGIN = 0.02
SEED = 13


@dataclass
class Figures:
    """One pipeline's measurements at one size, a value per round."""

    throughput: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    ssim_source: list[float] = field(default_factory=list)
    ssim_a: list[float] = field(default_factory=list)
    ssim_a_interior: list[float] = field(default_factory=list)


def make_clip(ffmpeg: str, folder: Path, size: str, seconds: int) -> Path:
    """A mandelbrot zoom with a tone; kept in `folder` and reused if already there."""
    clip = folder / f"mandelbrot-{size}-{seconds}s.mp4"
    if not clip.exists():
        partial = clip.with_suffix(".partial.mp4")
        subprocess.run(
            [ffmpeg, "-v", "error", "-y",
             "-f", "lavfi", "-i", f"mandelbrot=size={size}:rate=30,format=yuv420p",
             "-f", "lavfi", "-i", "sine=frequency=440",
             "-t", str(seconds),
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
             "-c:a", "aac", str(partial)],
            check=True,
        )  # fmt: skip
        partial.rename(clip)
    return clip


def today_argv(ffmpeg: str, source: Path, out: Path, effects: Effects) -> list[str]:
    """(a): the service's command before issue 13."""
    args = ffmpeg_args(ffmpeg, source, out, effects)
    args[args.index("-vf") + 1] = effects.rotate_filter_graph()
    return args


def unrotated_argv(
    ffmpeg: str, source: Path, out: Path, effects: Effects, threads: int | None
) -> list[str]:
    """(z): the service's command with the rotation taken out (crop and eq only): the
    ceiling any rotation, however fast, can reach with the same decode and encode."""
    args = ffmpeg_args(ffmpeg, source, out, effects, threads=threads)
    graph = effects.filter_graph().split(",")
    args[args.index("-vf") + 1] = ",".join([graph[0], graph[-1]])
    return args


def tool_argv(ffmpeg: str, source: Path, out: Path, effects: Effects) -> list[str]:
    """(c): the replaced tool's command, with its own filter string."""
    graph = (
        f"rotate={effects.rotation_rad}:fillcolor=black@0,"
        f"eq=brightness={effects.brightness}:contrast={effects.contrast}"
        f":saturation={effects.saturation}"
    )
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-y",
        "-i", str(source), "-vf", graph,
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23",
        "-b:v", "2000k", "-maxrate", "2500k", "-bufsize", "4000k", "-r", "29.97",
        str(out),
    ]  # fmt: skip


def run_together(commands: list[list[str]]) -> tuple[float, float]:
    """Start every command at once and wait for all: (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    procs = [subprocess.Popen(argv) for argv in commands]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if any(codes):
        raise RuntimeError(f"ffmpeg failed: {codes}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def bench_size(
    ffmpeg: str, clip: Path, seconds: int, rounds: int, work: Path, concurrency: int
) -> dict[str, Figures]:
    threads = ffmpeg_threads(None, concurrency)
    pipelines = {
        "a": lambda src, out, e: [today_argv(ffmpeg, src, out, e)],
        "b": lambda src, out, e: [
            ffmpeg_args(ffmpeg, src, out.with_name(f"{out.stem}-{n}.mp4"), e, threads=threads)
            for n in range(concurrency)
        ],
        "b1": lambda src, out, e: [ffmpeg_args(ffmpeg, src, out, e)],
        "c": lambda src, out, e: [tool_argv(ffmpeg, src, out, e)],
        "z": lambda src, out, e: [
            unrotated_argv(ffmpeg, src, out.with_name(f"{out.stem}-{n}.mp4"), e, threads)
            for n in range(concurrency)
        ],
    }
    figures = {name: Figures() for name in pipelines}
    for n, effects in enumerate(draw_effects(rounds, seed=SEED)):
        outputs: dict[str, Path] = {}
        # Alternate the order too, so no pipeline always runs first in a round.
        names = list(pipelines) if n % 2 == 0 else list(reversed(pipelines))
        for name in names:
            out = work / f"{clip.stem}-r{n}-{name}.mp4"
            commands = pipelines[name](clip, out, effects)
            wall, cpu = run_together(commands)
            outputs[name] = Path(commands[0][-1].removeprefix("file:"))
            fig = figures[name]
            fig.throughput.append(seconds * len(commands) / wall)
            fig.cpu_s.append(cpu / len(commands))
            fig.size.append(outputs[name].stat().st_size)
            print(f"  round {n + 1} {name:>2}: {wall:6.2f} s wall, {cpu:6.2f} s CPU "
                  f"for {len(commands)} render(s)", flush=True)  # fmt: skip
        for name, out in outputs.items():
            figures[name].ssim_source.append(ssim(ffmpeg, out, clip))
            if name in ("b", "b1"):
                figures[name].ssim_a.append(ssim(ffmpeg, out, outputs["a"]))
                figures[name].ssim_a_interior.append(
                    ssim(ffmpeg, out, outputs["a"], margin=INTERIOR_MARGIN)
                )
        for path in work.glob(f"{clip.stem}-r{n}-*"):
            path.unlink()
    return figures


def report(size: str, figures: dict[str, Figures]) -> dict[str, dict[str, float]]:
    base = statistics.median(figures["a"].throughput)
    base_size = statistics.median(figures["a"].size)
    print(f"\n{size}: medians over {len(figures['a'].throughput)} rounds")
    print("  pipe  src-s/s  vs (a)   CPU s  size MiB  vs (a)  SSIM src  SSIM (a)  interior")
    summary = {}
    for name, fig in figures.items():
        row = {
            "throughput": statistics.median(fig.throughput),
            "speedup": statistics.median(fig.throughput) / base,
            "cpu_s": statistics.median(fig.cpu_s),
            "size_mib": statistics.median(fig.size) / 2**20,
            "size_ratio": statistics.median(fig.size) / base_size,
            "ssim_source": statistics.median(fig.ssim_source),
        }
        if fig.ssim_a:
            row["ssim_a"] = statistics.median(fig.ssim_a)
            row["ssim_a_interior"] = statistics.median(fig.ssim_a_interior)
        summary[name] = row
        ssim_a = f"{row['ssim_a']:8.4f}  {row['ssim_a_interior']:8.4f}" if fig.ssim_a else ""
        print(f"  ({name:>2}) {row['throughput']:7.3f}  {row['speedup']:5.2f}x  "
              f"{row['cpu_s']:6.1f}  {row['size_mib']:8.2f}  {row['size_ratio']:5.2f}x  "
              f"{row['ssim_source']:8.4f}  {ssim_a}")  # fmt: skip
    return summary


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench/render.py pipelines")
    parser.add_argument("--sizes", default="1920x1080,1280x720")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clips", type=Path, help="folder to keep the clips in between runs")
    parser.add_argument(
        "--concurrency", type=int, help="renders at once in (b); default: the worker's default"
    )
    args = parser.parse_args(argv)

    ffmpeg = locate_ffmpeg(None)
    work = Path(tempfile.mkdtemp(prefix="vr-bench-pipelines-"))
    clips_dir = args.clips or work
    clips_dir.mkdir(parents=True, exist_ok=True)
    concurrency = args.concurrency or default_concurrency(os.cpu_count())
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; (b) runs {concurrency} "
          f"render(s) at once with {ffmpeg_threads(None, concurrency)} thread(s) each")  # fmt: skip
    results = {}
    try:
        for size in args.sizes.split(","):
            clip = make_clip(ffmpeg, clips_dir, size, args.seconds)
            print(f"{size}, {args.seconds} s: {clip.stat().st_size / 2**20:.1f} MiB source")
            figures = bench_size(ffmpeg, clip, args.seconds, args.rounds, work, concurrency)
            results[size] = report(size, figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    print(json.dumps(results))
