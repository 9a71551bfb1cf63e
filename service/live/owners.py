"""Whose job an event belongs to: the owner is recorded once, in the job's first event
(`UploadReceived`), so later events are matched to it through a bounded cache."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import asyncpg

from service.events.base import RecordedEvent
from service.events.job import UploadReceived, job_id_of, job_stream
from service.live.audience import Audience

CACHE_JOBS = 100_000  # ~100 bytes each: jobs whose owner is remembered, most recent kept

_OWNERS = """
SELECT stream_id, (data->>'owner_id')::uuid AS owner_id FROM events
WHERE stream_id = ANY ($1::text[]) AND version = 1
"""


class Owners:
    """job id -> owner id, read from the log (not the view, which may lag)."""

    def __init__(self, limit: int = CACHE_JOBS) -> None:
        self._known: OrderedDict[uuid.UUID, uuid.UUID] = OrderedDict()
        self._limit = limit

    def remember(self, job_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        self._known[job_id] = owner_id
        self._known.move_to_end(job_id)
        while len(self._known) > self._limit:
            self._known.popitem(last=False)

    def get(self, job_id: uuid.UUID) -> uuid.UUID | None:
        return self._known.get(job_id)

    async def load(
        self, conn: asyncpg.Pool | asyncpg.Connection, jobs: Iterable[uuid.UUID]
    ) -> None:
        """Look up the owners of `jobs` not yet known, in one query."""
        missing = {j for j in jobs if j not in self._known}
        if not missing:
            return
        by_stream = {job_stream(j): j for j in missing}
        for row in await conn.fetch(_OWNERS, list(by_stream)):
            if row["owner_id"] is not None:
                self.remember(by_stream[row["stream_id"]], row["owner_id"])

    async def load_for(
        self, conn: asyncpg.Pool | asyncpg.Connection, page: Sequence[RecordedEvent]
    ) -> None:
        """Know the owner of every job in `page`: from its UploadReceived, else the log."""
        unknown = []
        for recorded in page:
            job_id = job_id_of(recorded.stream_id)
            if job_id is None:
                continue
            if isinstance(recorded.event, UploadReceived):
                self.remember(job_id, recorded.event.owner_id)
            elif job_id not in self._known:
                unknown.append(job_id)
        if unknown:
            await self.load(conn, unknown)

    def admits(self, audience: Audience, recorded: RecordedEvent) -> bool:
        job_id = job_id_of(recorded.stream_id)
        return job_id is not None and audience.admits(job_id, self.get(job_id))
