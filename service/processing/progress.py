"""Render progress: what ffmpeg's `-progress` reports, turned into the job's percent, the
current variation's percent, frames per second and an ETA, published at most 4 times a
second per job on a NOTIFY channel of its own. Progress is not a fact: never appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "vr_progress"
MIN_INTERVAL_S = 0.25  # at most 4 updates per second per job
FFMPEG_OPTIONS = ("-progress", "pipe:1", "-stats_period", str(MIN_INTERVAL_S))
"""Global options: ffmpeg writes key=value blocks to stdout every 0.25 s and at the end."""


@dataclass(frozen=True, slots=True)
class RenderProgress:
    """One `-progress` block: how far the output is, and ffmpeg's speed in frames/s."""

    out_time_s: float
    fps: float | None
    done: bool


class ProgressParser:
    """Feed it ffmpeg's `-progress` lines; it calls `on_block` at each block's end."""

    def __init__(self, on_block: Callable[[RenderProgress], None]) -> None:
        self._on_block = on_block
        self._fields: dict[str, str] = {}

    def line(self, text: str) -> None:
        key, sep, value = text.partition("=")
        if not sep:
            return
        key, value = key.strip(), value.strip()
        if key != "progress":
            self._fields[key] = value
            return
        fields, self._fields = self._fields, {}
        self._on_block(
            RenderProgress(
                out_time_s=max(0.0, _number(fields.get("out_time_us")) or 0.0) / 1e6,
                fps=_number(fields.get("fps")),
                done=value == "end",
            )
        )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None  # "N/A" before the first frame


Publish = Callable[[uuid.UUID, uuid.UUID, dict[str, object]], None]
"""(job id, owner id, the progress record) -> None; never blocks."""


class JobProgress:
    """One attempt's progress: variations done plus the fractions of those rendering (with
    several render slots, a job renders several variations at once)."""

    def __init__(
        self,
        job_id: uuid.UUID,
        owner_id: uuid.UUID,
        total: int,
        done: int,
        publish: Publish,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id, self.owner_id = job_id, owner_id
        self.total = max(1, total)
        self.done = done
        self._publish = publish
        self._clock = clock
        self._started = clock()
        self._start_fraction = done / self.total
        self._last_sent: float | None = None
        self._rendering: dict[tuple[uuid.UUID, int], tuple[float, float]] = {}
        """(file, index) -> (duration, fraction done) of each variation being rendered."""
        self._latest: tuple[uuid.UUID, int] | None = None

    def start(
        self, file_id: uuid.UUID, index: int, duration_s: float
    ) -> Callable[[RenderProgress], None]:
        """A variation's render begins; returns what its ffmpeg reports go to."""
        key = (file_id, index)
        self._rendering[key] = (duration_s, 0.0)
        self._latest = key
        return lambda progress: self._update(key, progress)

    def finished_one(self, file_id: uuid.UUID | None = None, index: int | None = None) -> None:
        """A variation was recorded (by default the one started last)."""
        self.done += 1
        key = (file_id, index) if file_id is not None and index is not None else self._latest
        if key is not None:
            self._rendering.pop(key, None)

    def dropped(self, file_id: uuid.UUID, index: int) -> None:
        """A variation's render ended without an output (failed or cancelled)."""
        self._rendering.pop((file_id, index), None)

    def update(self, progress: RenderProgress) -> None:
        """A report for the variation started last."""
        if self._latest is not None:
            self._update(self._latest, progress)

    def _update(self, key: tuple[uuid.UUID, int], progress: RenderProgress) -> None:
        """From ffmpeg; published unless one was sent less than MIN_INTERVAL_S ago."""
        if key not in self._rendering:
            return
        duration_s, _ = self._rendering[key]
        fraction = 1.0 if progress.done else _fraction(progress.out_time_s, duration_s)
        self._rendering[key] = (duration_s, fraction)
        now = self._clock()
        if self._last_sent is not None and now - self._last_sent < MIN_INTERVAL_S:
            return
        self._last_sent = now
        file_id, index = key
        rendering = sum(f for _, f in self._rendering.values())
        overall = min(1.0, (self.done + rendering) / self.total)
        gained = overall - self._start_fraction
        elapsed = now - self._started
        eta = elapsed * (1.0 - overall) / gained if gained > 0 else None
        self._publish(
            self.job_id,
            self.owner_id,
            {
                "job_id": str(self.job_id),
                "percent": round(100 * overall, 1),
                "variation": {
                    "file_id": str(file_id),
                    "index": index,
                    "percent": round(100 * fraction, 1),
                },
                "fps": round(progress.fps, 1) if progress.fps is not None else None,
                "eta_s": round(eta, 1) if eta is not None else None,
            },
        )


def _fraction(out_time_s: float, duration_s: float) -> float:
    return min(1.0, out_time_s / duration_s) if duration_s > 0 else 0.0


class ProgressPublisher:
    """Sends progress to every process on CHANNEL, latest per job, off the render's path.

    `publish` only stores the update; one task sends what is pending, so a slow database
    makes updates coalesce (older ones are skipped), never makes a render wait.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: dict[uuid.UUID, str] = {}
        self._task: asyncio.Task[None] | None = None

    def publish(self, job_id: uuid.UUID, owner_id: uuid.UUID, record: dict[str, object]) -> None:
        self._pending[job_id] = json.dumps(
            {"owner_id": str(owner_id), "progress": record}, separators=(",", ":")
        )
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._send(), name="progress")

    async def _send(self) -> None:
        while self._pending:
            job_id, payload = next(iter(self._pending.items()))
            del self._pending[job_id]
            try:
                await self._pool.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except Exception as exc:  # ephemeral: a lost update is replaced by the next
                log.warning("progress not sent: %s", exc, extra={"action": "progress.failed"})
                return

    async def close(self) -> None:
        """Drop what is pending and let a NOTIFY in flight end (cancelling one mid-query
        would hand its pooled connection back busy)."""
        self._pending.clear()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), 2)
