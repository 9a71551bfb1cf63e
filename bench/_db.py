"""Benchmark plumbing: fresh, migrated databases on the configured or embedded server."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.db.embedded import EmbeddedPostgres
from service.db.migrate import migrate


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Yield the URL of a new migrated database; drop it (and any embedded server) after."""
    async with fresh_databases(1) as (url,):
        yield url


@contextlib.asynccontextmanager
async def fresh_databases(count: int) -> AsyncIterator[list[str]]:
    """Yield the URLs of `count` new migrated databases on one server; drop them after."""
    async with _server() as server, contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(_database(server)) for _ in range(count)]


@contextlib.asynccontextmanager
async def _server() -> AsyncIterator[str]:
    """VR_DATABASE_URL, or an embedded server started for the benchmark and stopped after."""
    configured = os.environ.get("VR_DATABASE_URL")
    if configured:
        yield configured
        return
    root = Path(tempfile.mkdtemp(prefix="vr-bench-"))
    embedded = EmbeddedPostgres(root / "pgdata")
    try:
        yield await embedded.astart()
    finally:
        await embedded.astop()
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def _database(server: str) -> AsyncIterator[str]:
    name = f"vr_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def server_label() -> str:
    return "VR_DATABASE_URL" if os.environ.get("VR_DATABASE_URL") else "embedded PostgreSQL"
