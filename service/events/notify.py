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
        self._owed = False  # an append committed since the last NOTIFY
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Called after each committed append; never blocks, never fails the append."""
        self._owed = True
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="change-notifier")

    async def stop(self) -> None:
        """Stop after sending any signal still owed, so no subscriber waits a poll for it.

        The loop is asked to end rather than cancelled: a NOTIFY cancelled mid-query
        hands its pooled connection back busy, and the next user of it fails.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._owed:
                await self._send()
            if self._stopping and not self._owed:
                return

    async def _send(self) -> None:
        self._owed = False
        try:
            await self._pool.execute(f"NOTIFY {CHANNEL}")
        except Exception as exc:  # asyncpg reports a connection gone in several ways
            # Subscribers also poll, so a lost signal only costs latency.
            log.warning("notify failed: %s", exc, extra={"action": "events.notify_failed"})
            if not self._stopping:
                await asyncio.sleep(0.5)


async def listen(conn: asyncpg.Connection, wake: asyncio.Event) -> None:
    """Set `wake` whenever any process signals a commit on this connection's channel."""

    def _on_notify(*_: object) -> None:
        wake.set()

    await conn.add_listener(CHANNEL, _on_notify)


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Return when `wake` is set (a NOTIFY, a stop) or after `seconds`, then re-arm it:
    how every background loop naps between polls."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)
    wake.clear()
