"""The job read model: folds each batch of job events into `job_view` rows.

A batch loads the affected jobs once, folds every event in memory, and writes each
changed job back once, all inside the runner's transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from service.events.base import RecordedEvent
from service.events.job import job_id_of
from service.projections.job_state import JobState, evolve

log = logging.getLogger(__name__)

NAME = "job_view"
TABLES = frozenset({"job_view", "job_view_shadow"})  # live table and the rebuild's shadow
COLUMNS = (
    "job_id", "owner_id", "status", "created_at", "expires_at", "version", "last_position", "state"
)  # fmt: skip


def _load_sql(table: str) -> str:
    return f"SELECT state FROM {table} WHERE job_id = ANY ($1::uuid[])"


def _upsert_sql(table: str) -> str:
    return f"""
INSERT INTO {table} ({", ".join(COLUMNS)})
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                     $6::bigint[], $7::bigint[], $8::text[]::jsonb[])
ON CONFLICT (job_id) DO UPDATE SET
    status = excluded.status, expires_at = excluded.expires_at, version = excluded.version,
    last_position = excluded.last_position, state = excluded.state
"""


class JobViewProjection:
    """Handler for the `job_view` subscription (and, with the shadow table, the rebuild)."""

    def __init__(self, table: str = "job_view") -> None:
        if table not in TABLES:
            raise ValueError(f"unknown job view table {table!r}")
        self.table = table

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        streams: dict[str, uuid.UUID | None] = {}
        for e in events:
            if e.stream_id not in streams:
                streams[e.stream_id] = job_id_of(e.stream_id)
        job_events = [(streams[e.stream_id], e) for e in events]
        job_ids = list({jid for jid, _ in job_events if jid is not None})
        if not job_ids:
            return
        states = await load_states(conn, job_ids, self.table)
        changed: dict[uuid.UUID, JobState] = {}
        for job_id, recorded in job_events:
            if job_id is None:
                continue
            current = states.get(job_id)
            if current is not None and recorded.version <= current.version:
                continue  # already folded in (e.g. a rebuild's catch-up overlaps the copy)
            folded = evolve(current, recorded)
            if folded is None:
                log.warning(
                    "ignoring %s at %s@%s: the job was never received",
                    recorded.type,
                    recorded.stream_id,
                    recorded.version,
                    extra={"action": "job_view.orphan_event"},
                )
                continue
            states[job_id] = changed[job_id] = folded
        if changed:
            await write_states(conn, list(changed.values()), self.table)


async def load_states(
    conn: asyncpg.Connection | asyncpg.Pool, job_ids: Sequence[uuid.UUID], table: str = "job_view"
) -> dict[uuid.UUID, JobState]:
    rows = await conn.fetch(_load_sql(table), job_ids)
    states = (JobState.model_validate_json(r["state"]) for r in rows)
    return {s.job_id: s for s in states}


JobViewRow = tuple[uuid.UUID, uuid.UUID, str, datetime, datetime, int, int, str]


def row_of(state: JobState) -> JobViewRow:
    """A job's row in `COLUMNS` order: the one mapping from state to columns."""
    return (
        state.job_id,
        state.owner_id,
        state.status,
        state.created_at,
        state.expires_at,
        state.version,
        state.last_position,
        state.model_dump_json(),
    )


async def write_states(
    conn: asyncpg.Connection, states: Sequence[JobState], table: str = "job_view"
) -> None:
    rows = [row_of(s) for s in states]
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in COLUMNS]
    await conn.execute(_upsert_sql(table), *columns)
