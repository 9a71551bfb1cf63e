"""Read the whole log in commit order, page by page, from a checkpoint.

Positions come from a sequence taken before commit, so ordering by position alone can
pass an event whose transaction commits later with a lower position. Readers order by
`(transaction_id, position)` and only see transactions older than every transaction
still in flight (`pg_snapshot_xmin`); nothing after the checkpoint can then appear
before it later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import total_ordering

import asyncpg

from service.events.base import RecordedEvent
from service.events.codec import decode_pages, records_from_rows

PAGE_SIZE = 2000  # events per round trip: large enough to amortise it, small in memory

_READ_PAGE = """
SELECT position, transaction_id, stream_id, version, event_id, type, schema_version,
       data, metadata, recorded_at
FROM events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
  AND ($4::text[] IS NULL OR type = ANY ($4))
ORDER BY transaction_id, position
LIMIT $3
"""

_BEHIND = """
SELECT count(*) FROM events WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
"""


@total_ordering
@dataclass(frozen=True)
class Checkpoint:
    """A place in commit order: everything up to and including it has been seen."""

    transaction_id: int = 0
    position: int = 0

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return (self.transaction_id, self.position) < (other.transaction_id, other.position)

    @classmethod
    def of(cls, event: RecordedEvent) -> Checkpoint:
        return cls(event.transaction_id, event.position)


START = Checkpoint()


async def _fetch(
    conn: asyncpg.Connection | asyncpg.Pool,
    after: Checkpoint,
    limit: int,
    types: Sequence[str] | None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        _READ_PAGE, after.transaction_id, after.position, limit, list(types) if types else None
    )


def _after(rows: list[asyncpg.Record]) -> Checkpoint:
    return Checkpoint(rows[-1]["transaction_id"], rows[-1]["position"])


async def read_page(
    conn: asyncpg.Connection | asyncpg.Pool,
    after: Checkpoint,
    limit: int = PAGE_SIZE,
    types: Sequence[str] | None = None,
) -> list[RecordedEvent]:
    """Up to `limit` committed events after `after`, in commit order."""
    return records_from_rows(await _fetch(conn, after, limit, types))


async def read_all(
    conn: asyncpg.Connection | asyncpg.Pool,
    after: Checkpoint = START,
    *,
    page_size: int = PAGE_SIZE,
    types: Sequence[str] | None = None,
) -> AsyncIterator[RecordedEvent]:
    """Every committed event after `after`, in commit order, two pages in memory at most.

    The next page's query is sent before this one is decoded, so the database and the
    decoder work at the same time.
    """
    first = await _fetch(conn, after, page_size, types)
    async for event in decode_pages(
        first, lambda rows: _fetch(conn, _after(rows), page_size, types), page_size
    ):
        yield event


async def events_behind(conn: asyncpg.Connection | asyncpg.Pool, checkpoint: Checkpoint) -> int:
    """How many stored events lie after `checkpoint` (the lag of a subscriber there)."""
    return int(await conn.fetchval(_BEHIND, checkpoint.transaction_id, checkpoint.position))


_HEAD = """
SELECT transaction_id, position FROM events
WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id DESC, position DESC
LIMIT 1
"""


async def head(conn: asyncpg.Connection | asyncpg.Pool) -> Checkpoint:
    """The last event a reader can see now, in commit order; START for an empty log.

    Taken below the in-flight horizon, so every event at or before it is committed and
    no event can later appear before it.
    """
    row = await conn.fetchrow(_HEAD)
    return Checkpoint(row["transaction_id"], row["position"]) if row else START
