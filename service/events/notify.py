"""Tell subscribers "something was committed" without slowing the writers down.

A transaction that NOTIFYs takes a cluster-wide lock at pre-commit and holds it
through the WAL flush, so notifying inside each append would serialise all commits.
Instead appends only set a flag; one notifier task per process sends a single NOTIFY,
outside any append transaction, for however many appends happened since its last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "vr_events"


class ChangeNotifier:
    """Coalesces "an append committed" signals into as few NOTIFYs as possible."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Called after each committed append; never blocks, never fails the append."""
        self._pending.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="change-notifier")

    async def stop(self) -> None:
        """Stop after sending any signal still owed, so no subscriber waits a poll for it."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._pending.is_set():
            await self._send()

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            await self._send()

    async def _send(self) -> None:
        self._pending.clear()
        try:
            await self._pool.execute(f"NOTIFY {CHANNEL}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Subscribers also poll, so a lost signal only costs latency.
            log.warning("notify failed: %s", exc, extra={"action": "events.notify_failed"})
            await asyncio.sleep(0.5)


async def listen(conn: asyncpg.Connection, wake: asyncio.Event) -> None:
    """Set `wake` whenever any process signals a commit on this connection's channel."""

    def _on_notify(*_: object) -> None:
        wake.set()

    await conn.add_listener(CHANNEL, _on_notify)
