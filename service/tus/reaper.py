"""The upload reaper: deletes resumable uploads past their expiry, bytes and row.

Runs in every process that runs the reactors, one round at start and then every
`VR_EXPIRY_INTERVAL_S`. Rows are taken `FOR UPDATE SKIP LOCKED`, so two reapers never
wait on each other, and a job being made of an upload (which holds its row) is never
reaped under it. Deleting a file that is already gone is a success, so a round repeated
after a crash does no harm. Rows a job took are removed too; their bytes belong to the job.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncpg

from service.clock import Clock
from service.events.notify import wait_for_wake
from service.tus import files

log = logging.getLogger(__name__)

NAME = "tus_reaper"
PAGE_SIZE = 200  # rows per transaction

_EXPIRED = """
SELECT upload_id FROM tus_uploads WHERE expires_at <= $1
ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
"""
_DELETE = "DELETE FROM tus_uploads WHERE upload_id = ANY($1::uuid[])"


class UploadReaper:
    name = NAME

    def __init__(
        self, pool: asyncpg.Pool, clock: Clock, tus_dir: Path, *, interval_s: float
    ) -> None:
        self.pool, self.clock, self.tus_dir, self.interval_s = pool, clock, tus_dir, interval_s
        self._wake = asyncio.Event()
        self._stopping = False

    async def reap_once(self) -> int:
        """Delete every expired upload; how many."""
        total = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                ids = [r[0] for r in await conn.fetch(_EXPIRED, self.clock.now(), PAGE_SIZE)]
                if not ids:
                    return total
                paths = [self.tus_dir / str(i) for i in ids]
                await asyncio.to_thread(files.unlink_all, paths)
                await conn.execute(_DELETE, ids)
            total += len(ids)
            log.info("reaped %d expired upload(s)", len(ids), extra={"action": "tus.reaped"})

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.reap_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("upload reaping failed: %r", exc, extra={"action": "tus.reap_failed"})
            await wait_for_wake(self._wake, self.interval_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
