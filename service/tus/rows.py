"""Upload rows in `tus_uploads`: the durable state of each resumable upload.

The row is the truth about an upload: HEAD reads it, and its offset moves only after the
bytes it names were fsynced (see `receive.py`). Every write checks the offset it expects,
so two writers (two requests, two instances) can never both move it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLUMNS = """upload_id, owner_id, filename, filetype, length, "offset", extension, sha256,
created_at, expires_at, job_id"""

_INSERT = """
INSERT INTO tus_uploads (upload_id, owner_id, filename, filetype, length, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
_GET = f"SELECT {_COLUMNS} FROM tus_uploads WHERE upload_id = $1"
# Move the offset only from where the writer found it, and never for an upload a job took.
# A partial offset commits without waiting for the WAL flush ($7 = 'off'): the bytes it
# names are already fsynced, so a database crash can only lose the newest offset (the
# client resends from an older one, whose bytes are on disk too), never make it name
# bytes that are not there. The last offset (the upload complete, its SHA-256 recorded)
# waits as usual ($7 NULL keeps the server's setting).
_ADVANCE = """
WITH commit_mode AS (
    SELECT set_config('synchronous_commit',
                      coalesce($7::text, current_setting('synchronous_commit')), true)
)
UPDATE tus_uploads
SET "offset" = $3, expires_at = $4,
    extension = coalesce(extension, $5), sha256 = CASE WHEN $3 = length THEN $6 END
FROM commit_mode
WHERE upload_id = $1 AND "offset" = $2 AND job_id IS NULL
RETURNING true
"""
_DELETE = "DELETE FROM tus_uploads WHERE upload_id = $1 RETURNING true"


@dataclass(frozen=True)
class UploadRow:
    upload_id: uuid.UUID
    owner_id: uuid.UUID
    filename: str
    filetype: str | None
    length: int
    offset: int
    extension: str | None
    sha256: str | None
    created_at: datetime
    expires_at: datetime
    job_id: uuid.UUID | None

    @property
    def complete(self) -> bool:
        return self.offset == self.length

    def expired(self, now: datetime) -> bool:
        return self.job_id is None and now >= self.expires_at


def _row(record: asyncpg.Record | None) -> UploadRow | None:
    return None if record is None else UploadRow(**dict(record))


async def insert(conn: asyncpg.Pool | asyncpg.Connection, row: UploadRow) -> None:
    await conn.execute(
        _INSERT, row.upload_id, row.owner_id, row.filename, row.filetype, row.length,
        row.created_at, row.expires_at,
    )  # fmt: skip


async def get(conn: asyncpg.Pool | asyncpg.Connection, upload_id: uuid.UUID) -> UploadRow | None:
    return _row(await conn.fetchrow(_GET, upload_id))


async def get_many(
    conn: asyncpg.Connection, upload_ids: list[uuid.UUID], *, lock: bool
) -> dict[uuid.UUID, UploadRow]:
    """Rows by id; with `lock`, each is held FOR UPDATE until the transaction ends."""
    sql = f"SELECT {_COLUMNS} FROM tus_uploads WHERE upload_id = ANY($1::uuid[])"
    records = await conn.fetch(sql + (" ORDER BY upload_id FOR UPDATE" if lock else ""), upload_ids)
    return {r["upload_id"]: UploadRow(**dict(r)) for r in records}


async def advance(
    pool: asyncpg.Pool,
    upload_id: uuid.UUID,
    *,
    old: int,
    new: int,
    expires_at: datetime,
    extension: str | None,
    sha256: str | None,
) -> bool:
    """Record `new` as the durable offset; False when the row moved or went meanwhile."""
    relaxed = None if sha256 is not None else "off"
    return bool(
        await pool.fetchval(_ADVANCE, upload_id, old, new, expires_at, extension, sha256, relaxed)
    )


async def delete(pool: asyncpg.Pool, upload_id: uuid.UUID) -> bool:
    return bool(await pool.fetchval(_DELETE, upload_id))
