"""Render slots: the worker renders at most as many variations at once as it has slots,
one `asyncio.Semaphore` shared by all its jobs, so one job alone can fill every slot.

A job queues an upload's renders for the slots the moment that upload is probed, so
renders take slots in plan order; a render waits for a slot before it creates anything,
and one that will not be recorded is stopped and its file deleted.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from service.metrics import catalogue as metrics
from service.processing.attempt import Attempt
from service.processing.plan import Variation
from service.processing.render import RenderCancelled, RenderedFile, render_variation
from service.storage.keys import output_key

RENDER_TIMEOUT_BASE_S = 120.0
RENDER_TIMEOUT_PER_VIDEO_S = 30.0
"""A render may take 120 s plus 30 s per second of video before it counts as stuck:
`veryfast` H.264 runs near real time even on a small machine, so this only stops hangs."""

Render = asyncio.Task[tuple[str, RenderedFile]]
"""One variation's render: (its output key, the file in the scratch folder)."""


class RenderSlots:
    """Renders variations into a job's scratch folder, each once it holds a slot."""

    def __init__(self, ffmpeg: str, threads: int | None, slots: asyncio.Semaphore) -> None:
        self._ffmpeg = ffmpeg
        self._threads = threads
        self._slots = slots

    def queue(
        self,
        attempt: Attempt,
        variations: list[Variation],
        source: Path,
        duration_s: float,
        folder: Path,
    ) -> list[Render]:
        """Start one upload's renders now, in variation order: each queues for a slot."""
        return [
            asyncio.create_task(self._render(attempt, variation, source, duration_s, folder))
            for variation in variations
        ]

    async def _render(
        self,
        attempt: Attempt,
        variation: Variation,
        source: Path,
        duration_s: float,
        folder: Path,
    ) -> tuple[str, RenderedFile]:
        """Wait for a render slot, then render into the scratch folder: (key, the file)."""
        file_id, index = variation.file.file_id, variation.index
        key = output_key(attempt.job_id, file_id, index, attempt.number)
        target = folder / key.rsplit("/", 2)[-2] / key.rsplit("/", 1)[-1]
        async with self._slots:
            if attempt.cancel.is_set():
                raise RenderCancelled()
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            progress = attempt.progress
            started = time.perf_counter()
            try:
                rendered = await render_variation(
                    self._ffmpeg,
                    source,
                    target,
                    variation.effects,
                    threads=self._threads,
                    timeout_s=RENDER_TIMEOUT_BASE_S + RENDER_TIMEOUT_PER_VIDEO_S * duration_s,
                    cancel=attempt.cancel,
                    on_progress=(
                        progress.start(file_id, index, duration_s) if progress is not None else None
                    ),
                )
            except BaseException:
                if progress is not None:
                    progress.dropped(file_id, index)
                raise
            metrics.RENDER_DURATION.observe(time.perf_counter() - started)
        return key, rendered


async def cancel_and_wait(tasks: list[asyncio.Task[Any]]) -> list[Any]:
    """Cancel `tasks` (a finished one ignores it) and wait for all: results or errors."""
    for task in tasks:
        task.cancel()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def discard(renders: list[Render]) -> None:
    """Stop renders that will not be recorded; delete the files of those that finished."""
    for outcome in await cancel_and_wait(renders):
        if isinstance(outcome, tuple):
            await asyncio.to_thread(outcome[1].path.unlink, missing_ok=True)
