"""Jobs whose file deletion failed, retried later with capped exponential backoff.

The queue lives in memory and is bounded: it only spares the subscription from
waiting on one bad file. Losing it (a restart, an overflow) loses nothing, because the
reactor's sweep finds every job the log says is still owed its deletion.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.reactors.deletion import FailedFile

log = logging.getLogger(__name__)

CAPACITY = 1000  # jobs; beyond this a failing job waits for the next sweep instead
BASE_DELAY_S = 1.0  # first retry: soon, a transient error (EBUSY) is usually gone by then
MAX_DELAY_S = 60.0  # later retries: often enough to notice a fix within a minute


@dataclass
class Pending:
    job_id: uuid.UUID
    attempts: int
    due: float
    failures: tuple[FailedFile, ...]


class RetryQueue:
    """Due times per job; a job is in it at most once."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        base_delay_s: float = BASE_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._monotonic = monotonic
        self._pending: dict[uuid.UUID, Pending] = {}
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._pending

    def enqueue(self, job_id: uuid.UUID) -> None:
        """Try this job as soon as possible (a sweep found it); no-op if already queued."""
        if job_id not in self._pending and self._has_room():
            self._pending[job_id] = Pending(job_id, 0, self._monotonic(), ())

    def failed(self, job_id: uuid.UUID, failures: Sequence[FailedFile]) -> float | None:
        """Record a failed attempt; the delay until the next one, or None when full."""
        pending = self._pending.get(job_id)
        if pending is None:
            if not self._has_room():
                return None
            pending = self._pending[job_id] = Pending(job_id, 0, 0.0, ())
        pending.attempts += 1
        pending.failures = tuple(failures)
        delay = min(self._base_delay_s * 2 ** (pending.attempts - 1), self._max_delay_s)
        pending.due = self._monotonic() + delay
        return delay

    def attempts(self, job_id: uuid.UUID) -> int:
        pending = self._pending.get(job_id)
        return pending.attempts if pending else 0

    def done(self, job_id: uuid.UUID) -> Pending | None:
        return self._pending.pop(job_id, None)

    def due(self) -> list[uuid.UUID]:
        now = self._monotonic()
        return [
            p.job_id for p in sorted(self._pending.values(), key=lambda p: p.due) if p.due <= now
        ]

    def seconds_until_due(self) -> float | None:
        """How long until the earliest retry; None when nothing is queued."""
        if not self._pending:
            return None
        return max(0.0, min(p.due for p in self._pending.values()) - self._monotonic())

    def stuck(self) -> list[dict[str, Any]]:
        """One row per file that failed its last attempt, for /readyz."""
        return [
            {"job_id": str(p.job_id), "file": f.key, "error": f.error, "attempts": p.attempts}
            for p in self._pending.values()
            for f in p.failures
        ]

    def _has_room(self) -> bool:
        if len(self._pending) < self.capacity:
            self.overflowed = False
            return True
        if not self.overflowed:
            log.warning(
                "retry queue full (%d jobs); further jobs wait for the next sweep",
                self.capacity,
                extra={"action": "reactor.retry_queue_full"},
            )
        self.overflowed = True
        return False
