"""Fold every job stream from the log, one stream at a time, with the projection's fold.

A rebuild writes these states into its shadow table and `audit verify` compares them
with the live rows: both need "what the log says each job is" at one commit-order point,
and both must compute it with `job_state.evolve`, the function the projection runs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from service.events.by_stream import read_by_stream
from service.events.job import STREAM_PREFIX, job_id_of
from service.events.log_reader import PAGE_SIZE, Checkpoint
from service.projections.job_state import JobState, evolve, initial_state


@dataclass(frozen=True)
class ReplayedJob:
    """One job stream folded from its first event up to the replay's point."""

    job_id: uuid.UUID
    stream_id: str
    state: JobState | None  # None: the stream never received its upload (stray events)
    events: int


async def replay_jobs(
    conn: asyncpg.Connection,
    upto: Checkpoint,
    *,
    page_size: int = PAGE_SIZE,
    prefetch: bool = True,
) -> AsyncIterator[ReplayedJob]:
    """Each job stream's state after its events at or before `upto`, in stream order.

    Memory holds one job's state at a time. Streams whose name is not a job id are
    skipped, as the live projection skips them. `prefetch` as for `read_by_stream`.
    """
    stream: str | None = None
    job_id: uuid.UUID | None = None
    state: JobState | None = initial_state()
    count = 0
    events = read_by_stream(
        conn, upto, prefix=STREAM_PREFIX, page_size=page_size, prefetch=prefetch
    )
    async for recorded in events:
        if recorded.stream_id != stream:
            if stream is not None and job_id is not None:
                yield ReplayedJob(job_id, stream, state, count)
            stream, job_id = recorded.stream_id, job_id_of(recorded.stream_id)
            state, count = initial_state(), 0
        count += 1
        if job_id is not None:
            state = evolve(state, recorded)
    if stream is not None and job_id is not None:
        yield ReplayedJob(job_id, stream, state, count)
