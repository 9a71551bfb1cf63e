"""Render progress from ffmpeg's `-progress` reports: parsed, turned into the variation's
and the job's percent, fps and ETA, and rate-limited to 4 updates a second per job."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from service.processing.effects import draw_effects
from service.processing.progress import JobProgress, ProgressParser, RenderProgress
from service.processing.render import render_variation

BLOCK = """frame=50
fps=25.00
out_time_us=2000000
out_time=00:00:02.000000
speed=1.0x
progress=continue
"""


def test_a_progress_block_is_parsed_at_its_progress_line() -> None:
    seen: list[RenderProgress] = []
    parser = ProgressParser(seen.append)
    for line in BLOCK.splitlines():
        parser.line(line)
    for line in ("frame=0", "fps=N/A", "out_time_us=N/A", "progress=end"):
        parser.line(line)
    assert seen == [
        RenderProgress(out_time_s=2.0, fps=25.0, done=False),
        RenderProgress(out_time_s=0.0, fps=None, done=True),
    ]


def test_job_progress_counts_done_variations_and_is_rate_limited() -> None:
    sent: list[dict[str, Any]] = []
    now = [100.0]
    job, owner, file_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    progress = JobProgress(
        job, owner, total=4, done=1, publish=lambda *a: sent.append(a[2]), clock=lambda: now[0]
    )
    progress.start(file_id, 2, duration_s=10.0)
    now[0] += 1.0
    progress.update(RenderProgress(out_time_s=5.0, fps=30.0, done=False))
    # a second report within 0.25 s is not sent
    now[0] += 0.1
    progress.update(RenderProgress(out_time_s=6.0, fps=30.0, done=False))
    assert len(sent) == 1
    [first] = sent
    assert first["job_id"] == str(job)
    assert first["variation"] == {"file_id": str(file_id), "index": 2, "percent": 50.0}
    # (1 done + 0.5) of 4 variations
    assert first["percent"] == 37.5 and first["fps"] == 30.0
    # 12.5% gained in 1 s: 62.5% left takes 5 s more
    assert first["eta_s"] == 5.0
    now[0] += 0.2
    progress.update(RenderProgress(out_time_s=10.0, fps=30.0, done=True))
    assert sent[-1]["variation"]["percent"] == 100.0 and sent[-1]["percent"] == 50.0
    progress.finished_one()
    assert progress.done == 2


async def test_a_real_render_reports_increasing_progress_up_to_the_end(
    tmp_path: Path, ffmpeg: str, long_clip: Path
) -> None:
    reports: list[RenderProgress] = []
    await render_variation(
        ffmpeg,
        long_clip,
        tmp_path / "out.mp4",
        draw_effects(1, seed=1)[0],
        on_progress=reports.append,
    )
    times = [r.out_time_s for r in reports]
    assert len(reports) >= 2 and times == sorted(times)
    assert reports[-1].done and not any(r.done for r in reports[:-1])
    assert times[-1] > 9.0  # the 10 s clip, rendered to its end
