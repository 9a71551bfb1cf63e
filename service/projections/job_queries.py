"""Read the job view: what HTTP handlers, the worker and the reactors ask of it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from service.projections.job_state import JobState

_GET = "SELECT state FROM job_view WHERE job_id = $1"
_LIST_FOR_OWNER = """
SELECT state FROM job_view
WHERE ($1::uuid IS NULL OR owner_id = $1)
  AND ($2::timestamptz IS NULL OR (created_at, job_id) < ($2, $3::uuid))
ORDER BY created_at DESC, job_id DESC
LIMIT $4
"""
# Processing (or cancelling) jobs first (each may have lost its worker), then the oldest
# received ones.
_CLAIMABLE = """
(SELECT job_id FROM job_view WHERE status IN ('processing', 'cancelling')
 ORDER BY created_at, job_id)
UNION ALL
(SELECT job_id FROM job_view WHERE status = 'received' ORDER BY created_at, job_id LIMIT $1)
"""
_WITH_STATUS = (
    "SELECT state FROM job_view WHERE status = ANY ($1::text[]) ORDER BY created_at, job_id"
)


class JobQueries:
    """Read-only access to `job_view`; never touches the log."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, job_id: uuid.UUID) -> JobState | None:
        raw = await self._pool.fetchval(_GET, job_id)
        return JobState.model_validate_json(raw) if raw is not None else None

    async def list(
        self,
        owner_id: uuid.UUID | None,
        *,
        before: tuple[datetime, uuid.UUID] | None = None,
        limit: int = 20,
    ) -> list[JobState]:
        """Newest first; `owner_id=None` lists every owner's jobs (for admins)."""
        created, job_id = before if before else (None, None)
        rows = await self._pool.fetch(_LIST_FOR_OWNER, owner_id, created, job_id, limit)
        return [JobState.model_validate_json(r["state"]) for r in rows]

    async def claimable(self, *, received_limit: int) -> list[uuid.UUID]:
        """Jobs a worker might render: every processing job, then the oldest received."""
        rows = await self._pool.fetch(_CLAIMABLE, received_limit)
        return [r["job_id"] for r in rows]

    async def with_status(self, statuses: Sequence[str]) -> list[JobState]:
        """Jobs in any of `statuses`, oldest first (the worker's and reactors' scan)."""
        rows = await self._pool.fetch(_WITH_STATUS, list(statuses))
        return [JobState.model_validate_json(r["state"]) for r in rows]
