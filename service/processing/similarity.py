"""How alike two videos look, by ffmpeg's `ssim` filter: the measure a change to the
render is held to (the tests and bench/render.py compare the render with the graph it
replaced, and both with the source). Not used while serving."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_ALL = re.compile(r"SSIM Y:[\d.]+ .* All:([\d.]+)")


def ssim(ffmpeg: str, a: Path, b: Path, *, margin: float = 0.0, timeout_s: float = 600) -> float:
    """Mean SSIM over every frame of `a` against the frame of `b` at the same position
    (1.0: identical). `margin` crops that fraction of the width and height from each
    side first, to compare interiors only. Blocking: runs ffmpeg to the end."""
    crop = f"crop=iw*{1 - 2 * margin:g}:ih*{1 - 2 * margin:g}," if margin else ""
    graph = f"[0:v]{crop}setpts=N[a];[1:v]{crop}setpts=N[b];[a][b]ssim=shortest=1"
    run = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-nostats",
         "-i", f"file:{a}", "-i", f"file:{b}", "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    found = _ALL.search(run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"ssim of {a.name} and {b.name} failed: {run.stderr[-500:]}")
    return float(found.group(1))
