"""Feed a handler from a named checkpoint: catch up, then follow the log live.

Each batch is handled and the checkpoint advanced in one transaction, so a projection
never applies an event twice or skips one. A session advisory lock on the runner's own
connection keeps one active instance per name across all processes; a standby polls
for the lock and takes over, from the checkpoint, when the holder's connection dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import asyncpg

from service.db.database import Database, process_name
from service.events.base import RecordedEvent
from service.events.log_reader import PAGE_SIZE, Checkpoint, read_page
from service.events.notify import listen, wait_for_wake
from service.projections import checkpoints

log = logging.getLogger(__name__)

RECONNECT_DELAY_S = 1.0  # after a lost connection: long enough not to spin, short for failover


class Handler(Protocol):
    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        """Apply `events` inside the transaction that will advance the checkpoint."""


def lock_key_sql() -> str:
    return "hashtextextended('vr-subscription:' || $1, 0)"


class SubscriptionRunner:
    """Runs one named subscription until stopped; safe to run in several processes."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        database: Database,
        *,
        poll_interval_s: float = 1.0,
        batch_size: int = PAGE_SIZE,
        on_advance: Callable[[Checkpoint], None] | None = None,
    ) -> None:
        self.name = name
        self._handler = handler
        self._database = database
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._on_advance = on_advance
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.checkpoint: Checkpoint | None = None
        self.active = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask the runner to finish its current batch and return."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                conn = await self._database.connect()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning(
                    "subscription %s cannot connect: %s",
                    self.name,
                    exc,
                    extra={"action": "subscription.connect_failed"},
                )
                await self._sleep(RECONNECT_DELAY_S)
                continue
            try:
                await self._run_on(conn)
            except (
                OSError,
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,
                asyncpg.AdminShutdownError,
            ) as exc:
                log.warning(
                    "subscription %s lost its connection: %s",
                    self.name,
                    exc,
                    extra={"action": "subscription.connection_lost"},
                )
                await self._sleep(RECONNECT_DELAY_S)
            except Exception:
                # A failing handler must not kill the process, nor skip the event: retry.
                log.exception(
                    "subscription %s failed; retrying",
                    self.name,
                    extra={"action": "subscription.handler_failed"},
                )
                await self._sleep(RECONNECT_DELAY_S)
            finally:
                self.active = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))

    async def _run_on(self, conn: asyncpg.Connection) -> None:
        await listen(conn, self._wake)
        if not await self._acquire(conn):
            return
        self.active = True
        await checkpoints.set_holder(conn, self.name, process_name())
        log.info(
            "subscription %s is active here", self.name, extra={"action": "subscription.active"}
        )
        self.checkpoint = await checkpoints.load(conn, self.name)
        while not self._stopping.is_set():
            if not await self._apply_next_batch(conn):
                await self._sleep(self._poll_interval_s)

    async def _acquire(self, conn: asyncpg.Connection) -> bool:
        """Wait as a standby until this connection holds the subscription's lock."""
        await checkpoints.load(conn, self.name)
        while not self._stopping.is_set():
            if await conn.fetchval(f"SELECT pg_try_advisory_lock({lock_key_sql()})", self.name):
                return True
            await self._sleep(self._poll_interval_s)
        return False

    async def _apply_next_batch(self, conn: asyncpg.Connection) -> bool:
        """Handle one page; False when the subscriber is at the head of the log."""
        assert self.checkpoint is not None
        events = await read_page(conn, self.checkpoint, self._batch_size)
        if not events:
            return False
        target = Checkpoint.of(events[-1])
        async with conn.transaction():
            current = await checkpoints.lock(conn, self.name)
            if current != self.checkpoint:
                # Someone else (an admin rebuild) moved it: re-read from where it is now.
                self.checkpoint = current
                return True
            await self._handler.handle(conn, events)
            await checkpoints.store(conn, self.name, target)
        self.checkpoint = target
        if self._on_advance is not None:
            self._on_advance(target)
        return True

    async def _sleep(self, seconds: float) -> None:
        """Wait for a NOTIFY, the poll interval or a stop, whichever comes first."""
        await wait_for_wake(self._wake, seconds)
