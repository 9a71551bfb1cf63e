"""What a new stream opens with: the job view as it stands, and the log position it
reflects (the view's checkpoint), read in one snapshot so the two agree."""

from __future__ import annotations

import uuid

import asyncpg

from service.events.log_reader import Checkpoint
from service.projections import job_view
from service.projections.job_state import JobState

_CHECKPOINT = "SELECT transaction_id, position FROM subscriptions WHERE name = $1"
_JOB = "SELECT state FROM job_view WHERE job_id = $1"
_NEWEST = """
SELECT state FROM job_view
WHERE ($1::uuid IS NULL OR owner_id = $1)
ORDER BY created_at DESC, job_id DESC
LIMIT $2
"""


async def _checkpoint(conn: asyncpg.Connection) -> Checkpoint:
    row = await conn.fetchrow(_CHECKPOINT, job_view.NAME)
    return Checkpoint(row["transaction_id"], row["position"]) if row else Checkpoint()


async def job_snapshot(pool: asyncpg.Pool, job_id: uuid.UUID) -> tuple[JobState | None, Checkpoint]:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoint = await _checkpoint(conn)
        raw = await conn.fetchval(_JOB, job_id)
    return (JobState.model_validate_json(raw) if raw is not None else None), checkpoint


async def jobs_snapshot(
    pool: asyncpg.Pool, owner_id: uuid.UUID | None, limit: int
) -> tuple[list[JobState], Checkpoint]:
    """The newest `limit` jobs of `owner_id` (every owner's for None)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checkpoint = await _checkpoint(conn)
        rows = await conn.fetch(_NEWEST, owner_id, limit)
    return [JobState.model_validate_json(r["state"]) for r in rows], checkpoint
