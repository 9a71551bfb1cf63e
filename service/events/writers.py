"""Pool connections that the store keeps for a moment between appends.

The pool resets every connection it takes back (`RESET ALL; UNLISTEN *; ...`): one more
round trip, which made a single-event append cost nearly two. An append leaves no session
state behind, so a connection the store used a moment ago serves the next append as it
is. It goes back to the pool, and through the reset, once no append has wanted it for
LINGER_S, and at once when the pool has no idle connection left for anyone else.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

log = logging.getLogger(__name__)

LINGER_S = 0.005  # spans back-to-back appends; any longer and other users of the pool notice
CHECK_S = 0.001  # how stale "does the pool have one to spare?" may be (asking walks the pool)


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
        """A connection for one statement in an implicit transaction; hand it back with
        `keep` or `give_back`."""
        conn = self.take()
        if conn is None:
            conn = await self._pool.acquire()
            self._next_check = 0.0  # holding one more: look at the pool when it comes back
        return conn

    def keep(self, conn: asyncpg.Connection) -> bool:
        """Keep `conn`, idle outside any transaction, for the next append; False when the
        pool needs it back now (then `give_back` it before the append returns, so the
        next user of the pool finds it there, as it would without the writers)."""
        loop = self._loop or self._bind_loop()
        now = loop.time()
        if now >= self._next_check and self._pool_is_needed(now):
            return False
        self._idle.append((conn, now))
        if self._timer is None:
            self._timer = loop.call_later(self._linger_s, self._sweep)
        return True

    async def give_back(self, conn: asyncpg.Connection) -> None:
        """Return `conn` to the pool, which resets it (or, after a cancellation or a broken
        connection, recovers or discards it)."""
        await self._pool.release(conn)

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        # get_running_loop checks the process id: a system call on every append otherwise
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _pool_is_needed(self, now: float) -> bool:
        """Closing, or no idle connection left for anyone else.

        Keeping one while the pool has none idle would make the next user of the pool
        open a new connection, or wait, on our account.
        """
        self._next_check = now + CHECK_S
        return self._pool.is_closing() or self._pool.get_idle_size() == 0

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
