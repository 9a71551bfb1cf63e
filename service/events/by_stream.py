"""Read the log stream by stream, up to a place in commit order.

A rebuild or an audit folds each stream on its own. Reading in `(stream_id, version)`
order hands over each stream's events together, so the reader holds one stream's state
at a time whatever the size of the log. The bound `upto` is a commit-order checkpoint
taken below the in-flight horizon, so the set of events at or before it never changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from service.events.base import RecordedEvent
from service.events.codec import decode_pages
from service.events.log_reader import PAGE_SIZE, Checkpoint

_READ_PAGE = """
SELECT position, transaction_id, stream_id, version, event_id, type, schema_version,
       data, metadata, recorded_at
FROM events
WHERE (stream_id, version) > ($1::text, $2::bigint)
  AND (transaction_id, position) <= ($3::xid8, $4::bigint)
  AND ($5::text IS NULL OR starts_with(stream_id, $5))
ORDER BY stream_id, version
LIMIT $6
"""

_COUNT = """
SELECT count(*) FROM events
WHERE (transaction_id, position) <= ($1::xid8, $2::bigint)
  AND ($3::text IS NULL OR starts_with(stream_id, $3))
"""


async def _fetch(
    conn: asyncpg.Connection,
    after: tuple[str, int],
    upto: Checkpoint,
    prefix: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        _READ_PAGE, after[0], after[1], upto.transaction_id, upto.position, prefix, limit
    )


async def read_by_stream(
    conn: asyncpg.Connection,
    upto: Checkpoint,
    *,
    prefix: str | None = None,
    page_size: int = PAGE_SIZE,
    prefetch: bool = True,
) -> AsyncIterator[RecordedEvent]:
    """Every event at or before `upto` in commit order, ordered by stream then version.

    `prefix` keeps only streams whose id starts with it. With `prefetch` the next page is
    fetched while this one is decoded, as `read_all` does, so the caller must not use
    `conn` between events; without it `conn` is idle whenever an event is handed over.
    """

    def after(rows: list[asyncpg.Record]) -> tuple[str, int]:
        return rows[-1]["stream_id"], rows[-1]["version"]

    first = await _fetch(conn, ("", 0), upto, prefix, page_size)
    async for event in decode_pages(
        first,
        lambda rows: _fetch(conn, after(rows), upto, prefix, page_size),
        page_size,
        prefetch=prefetch,
    ):
        yield event


async def count_upto(
    conn: asyncpg.Connection | asyncpg.Pool, upto: Checkpoint, *, prefix: str | None = None
) -> int:
    """How many events `read_by_stream` will hand over (a progress total)."""
    return int(await conn.fetchval(_COUNT, upto.transaction_id, upto.position, prefix))
