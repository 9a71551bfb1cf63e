"""Read-your-writes: wait (bounded) until a subscription has passed an appended event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import asyncpg

from service.events.log_reader import Checkpoint
from service.events.store import AppendResult
from service.projections import checkpoints

_POLL_S = (0.002, 0.005, 0.01, 0.02, 0.05)  # quick at first: the runner usually is


class ProjectionWaiter:
    """Knows a subscription's checkpoint, from the local runner or from the database."""

    def __init__(self, pool: asyncpg.Pool, name: str) -> None:
        self._pool = pool
        self._name = name
        self._advanced = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self.latest = Checkpoint()

    def advanced(self, checkpoint: Checkpoint) -> None:
        """Callback for a runner in this process: wake waiters and listeners at once."""
        self.latest = max(self.latest, checkpoint)
        self._advanced.set()
        for listener in self._listeners:
            listener()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever the local runner applies a batch (a worker wakes on it:
        a NOTIFY arrives before the view has the new job)."""
        self._listeners.append(listener)

    async def wait_for(self, written: AppendResult | Checkpoint, timeout_s: float) -> bool:
        """True once the subscription has applied `written`; False after `timeout_s`."""
        target = (
            Checkpoint(written.transaction_id, written.last_position)
            if isinstance(written, AppendResult)
            else written
        )
        deadline = time.monotonic() + timeout_s
        for attempt in range(1_000_000):
            if self.latest >= target:
                return True
            stored = await checkpoints.peek(self._pool, self._name)
            self.latest = max(self.latest, stored)
            if self.latest >= target:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._advanced.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._advanced.wait(), min(remaining, _POLL_S[min(attempt, len(_POLL_S) - 1)])
                )
        return False
