"""Benchmark plumbing: a fresh, migrated database on the configured or embedded server."""

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
    root = None
    embedded = None
    server = os.environ.get("VR_DATABASE_URL")
    if not server:
        root = Path(tempfile.mkdtemp(prefix="vr-bench-"))
        embedded = EmbeddedPostgres(root / "pgdata")
        server = await embedded.astart()
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
        if embedded is not None:
            await embedded.astop()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def server_label() -> str:
    return "VR_DATABASE_URL" if os.environ.get("VR_DATABASE_URL") else "embedded PostgreSQL"
