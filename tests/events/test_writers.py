"""Writer connections: kept between appends, given back to the pool when idle or needed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from service.events.writers import WriterConnections


async def _backend(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT pg_backend_pid()"))


@contextlib.asynccontextmanager
async def _lent(writers: WriterConnections) -> AsyncIterator[asyncpg.Connection]:
    """As the store lends a connection: kept unless the statement never finished."""
    conn = await writers.acquire()
    try:
        yield conn
    except asyncpg.PostgresError:
        if not writers.keep(conn):
            await writers.give_back(conn)
        raise
    except BaseException:
        await writers.give_back(conn)
        raise
    if not writers.keep(conn):
        await writers.give_back(conn)


async def test_back_to_back_appends_share_a_connection_without_a_pool_reset(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=3)  # one to spare
    try:
        writers = WriterConnections(pool, linger_s=5)
        # Given a session setting the pool's reset would undo
        async with _lent(writers) as conn:
            await conn.execute("SET application_name = 'kept'")
            first = await _backend(conn)
        # When the next append comes within the linger time
        async with _lent(writers) as conn:
            # Then it gets the same session, untouched
            assert await _backend(conn) == first
            assert await conn.fetchval("SHOW application_name") == "kept"
    finally:
        await asyncio.wait_for(pool.close(), 10)


async def test_a_pool_with_no_idle_connection_left_gets_it_back_at_once(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    try:
        writers = WriterConnections(pool, linger_s=60)
        # Given an append on the pool's only open connection
        async with _lent(writers) as conn:
            await conn.execute("SET application_name = 'kept'")
            used = await _backend(conn)
        # Then it is back, reset, before the append returns: the next user of the pool
        # neither waits nor opens a connection on the writers' account
        assert pool.get_idle_size() == 1
        async with asyncio.timeout(5), pool.acquire() as other:
            assert await _backend(other) == used
            assert await other.fetchval("SHOW application_name") != "kept"
    finally:
        await asyncio.wait_for(pool.close(), 10)


async def test_a_kept_connection_is_released_when_idle_so_the_pool_can_close(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=3)
    writers = WriterConnections(pool, linger_s=0.2)
    async with _lent(writers) as conn:
        await conn.fetchval("SELECT 1")
    assert pool.get_idle_size() == 1  # one kept by the writers
    async with asyncio.timeout(5):
        await pool.close()


async def test_a_server_error_keeps_the_connection_and_a_cancellation_returns_it(
    database_url: str,
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=3)
    try:
        writers = WriterConnections(pool, linger_s=5)
        with contextlib.suppress(asyncpg.PostgresError):
            async with _lent(writers) as conn:
                first = await _backend(conn)
                await conn.execute("SELECT 1/0")
        async with _lent(writers) as conn:
            assert await _backend(conn) == first
            assert not conn.is_in_transaction()

        async def slow() -> None:
            async with _lent(writers) as conn:
                await conn.execute("SELECT pg_sleep(10)")

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The cancelled connection went back to the pool, which recovers it
        async with _lent(writers) as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await asyncio.wait_for(pool.close(), 10)
