"""Pool connections that the store keeps for a moment between appends.

The pool resets every connection it takes back (`RESET ALL; UNLISTEN *; ...`): one more
round trip, which made a single-event append cost nearly two. An append leaves no session
state behind, so a connection the store used a moment ago serves the next append as it
is. It goes back to the pool, and through the reset, once no append has wanted it for
LINGER_S, and at once when the pool has no other connection to give.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

log = logging.getLogger(__name__)

LINGER_S = 0.02  # long enough to span back-to-back appends, short enough to delay no close


class WriterConnections:
    """Hands out pool connections for appends, keeping recently used ones briefly."""

    def __init__(self, pool: asyncpg.Pool, linger_s: float = LINGER_S) -> None:
        self._pool = pool
        self._linger_s = linger_s
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # oldest first
        self._timer: asyncio.TimerHandle | None = None
        self._releasing: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for one append in an implicit transaction."""
        conn = self._take() or await self._pool.acquire()
        try:
            yield conn
        except asyncpg.PostgresError:
            # The server refused a statement: the implicit transaction is over and the
            # connection is as good as before.
            self._keep(conn)
            raise
        except BaseException:
            # Cancelled or broken mid-query: only the pool knows how to recover it.
            await self._pool.release(conn)
            raise
        else:
            self._keep(conn)

    def _take(self) -> asyncpg.Connection | None:
        while self._idle:
            conn, _ = self._idle.pop()  # the most recently used: the warmest
            if _usable(conn):
                return conn
            self._release_soon(conn)
        return None

    def _keep(self, conn: asyncpg.Connection) -> None:
        if not _usable(conn) or self._pool.is_closing() or self._pool_is_exhausted():
            self._release_soon(conn)
            return
        loop = asyncio.get_running_loop()
        self._idle.append((conn, loop.time()))
        if self._timer is None:
            self._timer = loop.call_later(self._linger_s, self._sweep)

    def _pool_is_exhausted(self) -> bool:
        """Nothing idle in the pool and no room to open more: someone may be waiting."""
        return (
            self._pool.get_idle_size() == 0 and self._pool.get_size() >= self._pool.get_max_size()
        )

    def _sweep(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle and (self._pool.is_closing() or self._idle[0][1] <= now - self._linger_s):
            self._release_soon(self._idle.pop(0)[0])
        if self._idle:
            due = self._idle[0][1] + self._linger_s - now
            self._timer = loop.call_later(max(due, 0.001), self._sweep)

    def _release_soon(self, conn: asyncpg.Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._release(conn))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, conn: asyncpg.Connection) -> None:
        try:
            await self._pool.release(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The pool was terminated or the connection died: nothing left to give back.
            log.debug("writer connection release failed: %s", exc)


def _usable(conn: asyncpg.Connection) -> bool:
    try:
        return not conn.is_closed() and not conn.is_in_transaction()
    except asyncpg.InterfaceError:  # already handed back to the pool
        return False
