"""Projection test plumbing shared by the runner and rebuild tests."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from service.events.base import RecordedEvent
from service.projections import job_view
from service.projections.rebuild import JobViewRebuild


class CountingProjection(job_view.JobViewProjection):
    """The job view, remembering the position of every event it applied."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[int] = []

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        await super().handle(conn, events)
        self.applied.extend(e.position for e in events)


async def shadow_caught_up(
    reader: asyncpg.Connection, writer: asyncpg.Connection
) -> JobViewRebuild:
    """A rebuild whose shadow has been replayed and caught up with the log, not swapped."""
    rebuilding = JobViewRebuild(reader, writer)
    await rebuilding.prepare()
    await rebuilding.replay()
    await rebuilding.catch_up()
    return rebuilding
