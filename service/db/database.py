"""Open the database the settings name: the configured server, or the embedded one."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from service.db.embedded import EmbeddedPostgres
from service.errors import ConfigurationError
from service.settings import Settings

log = logging.getLogger(__name__)


def process_name() -> str:
    """`host:pid`, shown as the holder of subscriptions and as application_name."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Database:
    """The resolved URL and the shared pool; dedicated connections come from `connect`."""

    url: str
    pool: asyncpg.Pool
    embedded: bool

    async def connect(self) -> asyncpg.Connection:
        """A dedicated connection (LISTEN, advisory locks) outside the pool."""
        return await asyncpg.connect(
            self.url, server_settings={"application_name": f"video-refresher {process_name()}"}
        )


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate_schema: bool = False
) -> AsyncIterator[Database]:
    """Yield a ready Database; with `migrate_schema`, apply pending migrations first."""
    from service.db.migrate import migrate

    embedded = None
    if settings.database_url:
        url = settings.database_url
        log.info("using PostgreSQL from VR_DATABASE_URL", extra={"action": "db.configured"})
    else:
        embedded = EmbeddedPostgres(settings.pgdata_dir)
        url = await embedded.astart()
    try:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=settings.pool_min_size,
                max_size=settings.pool_max_size,
                server_settings={"application_name": f"video-refresher {process_name()}"},
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise ConfigurationError(f"cannot connect to the database: {exc}") from exc
        try:
            if migrate_schema:
                async with pool.acquire() as conn:
                    await migrate(conn)
            yield Database(url=url, pool=pool, embedded=embedded is not None)
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await embedded.astop()
