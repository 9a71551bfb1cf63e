"""Pool connections that the store keeps for a moment between appends.

The pool resets every connection it takes back (`RESET ALL; UNLISTEN *; ...`): one more
round trip, which made a single-event append cost nearly two. An append leaves no session
state behind, so a connection the store used a moment ago serves the next append as it
is. It goes back to the pool, and through the reset, once no append has wanted it for
LINGER_S, and at once when the pool has nothing left to give anyone else.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger(__name__)

LINGER_S = 0.02  # long enough to span back-to-back appends, short enough to delay no close
CHECK_S = 0.005  # how stale the "is the pool exhausted?" answer may be (it walks the pool)


class WriterConnections:
    """Lends pool connections to appends, keeping recently used ones briefly."""

    def __init__(self, pool: asyncpg.Pool, linger_s: float = LINGER_S) -> None:
        self._pool = pool
        self._linger_s = linger_s
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # oldest first
        self._timer: asyncio.TimerHandle | None = None
        self._next_check = 0.0  # loop time of the next look at the pool
        self._releasing: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None  # the pool's; looked up once

    def take(self) -> asyncpg.Connection | None:
        """A kept connection, if there is one (no await: most appends find one)."""
        while self._idle:
            conn, _ = self._idle.pop()  # the most recently used: the warmest
            if not conn.is_closed():
                return conn
            self._release_soon(conn)
        return None

    async def acquire(self) -> asyncpg.Connection:
        """A connection for one statement in an implicit transaction; give it back with
        `release`."""
        conn = self.take()
        if conn is None:
            conn = await self._pool.acquire()
            self._next_check = 0.0  # holding one more: look at the pool when it comes back
        return conn

    def release(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        """Keep `conn` for the next append, or hand it back to the pool.

        `reusable` says the statement ended with an answer from the server (a result or
        an error), so the connection is idle outside any transaction; after a
        cancellation or a broken connection only the pool knows how to recover it.
        """
        loop = self._loop or self._bind_loop()
        now = loop.time()
        if not reusable or (now >= self._next_check and self._pool_is_needed(now)):
            self._release_soon(conn)
            return
        self._idle.append((conn, now))
        if self._timer is None:
            self._timer = loop.call_later(self._linger_s, self._sweep)

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        # get_running_loop checks the process id: a system call on every append otherwise
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _pool_is_needed(self, now: float) -> bool:
        """Closing, or nothing idle and no room to open more: someone may be waiting."""
        self._next_check = now + CHECK_S
        pool = self._pool
        return pool.is_closing() or (
            pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()
        )

    def _sweep(self) -> None:
        self._timer = None
        loop = self._loop or self._bind_loop()
        now = loop.time()
        closing = self._pool.is_closing()
        while self._idle and (closing or self._idle[0][1] <= now - self._linger_s):
            self._release_soon(self._idle.pop(0)[0])
        if self._idle:
            due = self._idle[0][1] + self._linger_s - now
            self._timer = loop.call_later(max(due, 0.001), self._sweep)

    def _release_soon(self, conn: asyncpg.Connection) -> None:
        task = (self._loop or self._bind_loop()).create_task(self._release(conn))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release(self, conn: asyncpg.Connection) -> None:
        try:
            await self._pool.release(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The pool was terminated or the connection died: nothing left to give back.
            log.debug("writer connection release failed: %s", exc)
