"""Job leases: a session advisory lock per job, held on the worker's own connection.

PostgreSQL releases a session lock the moment its connection ends, so a worker that
dies (process killed, machine gone, connection dropped) gives up its jobs with no
timeout to tune, and any worker may then reclaim them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg

_KEY = "hashtextextended('vr-job:' || $1::text, 0)"
_TRY_TAKE = f"SELECT pg_try_advisory_lock({_KEY})"
_RELEASE = f"SELECT pg_advisory_unlock({_KEY})"


class JobLeases:
    """Take and give back job leases over one dedicated connection.

    A connection runs one query at a time, and several jobs share this one, so every
    query goes through a lock.
    """

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return not self.conn.is_closed()

    async def try_take(self, job_id: uuid.UUID) -> bool:
        """True when this worker now holds the job's lease; False when another does."""
        async with self._lock:
            return bool(await self.conn.fetchval(_TRY_TAKE, str(job_id)))

    async def give_back(self, job_id: uuid.UUID) -> None:
        """Release the lease; a dead connection has released it already."""
        if not self.alive:
            return
        async with self._lock:
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                await self.conn.fetchval(_RELEASE, str(job_id))

    async def check(self) -> None:
        """Touch the connection, so a silently dropped one is noticed within a poll."""
        async with self._lock:
            await self.conn.execute("SELECT 1")
