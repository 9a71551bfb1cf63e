"""What the tus code needs from the running service: the pool, the running hashes,
time, the expiry, and where upload bytes live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg

from service.clock import Clock
from service.tus import rows
from service.tus.hashes import HashCache


@dataclass(frozen=True)
class UploadContext:
    """What receiving needs from the service: the pool, the hashes, time and expiry."""

    pool: asyncpg.Pool
    hashes: HashCache
    clock: Clock
    expiry: timedelta
    tus_dir: Path

    def path(self, row: rows.UploadRow) -> Path:
        return self.tus_dir / str(row.upload_id)

    def path_of(self, upload_id: object) -> Path:
        return self.tus_dir / str(upload_id)
