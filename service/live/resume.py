"""Where a stream resumes: a log position (`Last-Event-ID`, `?after=`) becomes the
commit-order place of the event at that position; the stream then reads from the log
what lies between there and the hub's place."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from service.errors import InvalidResumePosition
from service.events.base import RecordedEvent
from service.events.codec import records_from_rows
from service.events.job import job_stream
from service.events.log_reader import START, Checkpoint
from service.live.audience import Audience
from service.live.owners import Owners

PAGE_EVENTS = 1000
MAX_DIGITS = 19  # a bigint

_PLACE = "SELECT transaction_id FROM events WHERE position = $1"
_COLUMNS = """position, transaction_id, stream_id, version, event_id, type, schema_version,
       data, metadata, recorded_at"""
# Between two places already below the in-flight horizon: everything there is committed.
_BETWEEN = f"""
SELECT {_COLUMNS} FROM events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
  AND (transaction_id, position) <= ($3::xid8, $4::bigint)
ORDER BY transaction_id, position
LIMIT $5
"""
_STREAM_BETWEEN = f"""
SELECT {_COLUMNS} FROM events
WHERE stream_id = $5
  AND (transaction_id, position) > ($1::xid8, $2::bigint)
  AND (transaction_id, position) <= ($3::xid8, $4::bigint)
ORDER BY transaction_id, position
"""


def parse_position(raw: str, field: str) -> int:
    """A non-negative integer, or InvalidResumePosition (400) naming `field`."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_DIGITS:
        raise InvalidResumePosition(raw, field)
    return int(text)


async def place_of(
    conn: asyncpg.Pool | asyncpg.Connection, position: int, field: str
) -> Checkpoint:
    """The commit-order place of the event at `position`; 0 is the start of the log.

    Only a position the log holds can have been sent, so any other is refused."""
    if position == 0:
        return START
    transaction_id = await conn.fetchval(_PLACE, position)
    if transaction_id is None:
        raise InvalidResumePosition(str(position), field)
    return Checkpoint(transaction_id, position)


async def between(
    conn: asyncpg.Pool | asyncpg.Connection,
    audience: Audience,
    after: Checkpoint,
    until: Checkpoint,
    owners: Owners,
) -> AsyncIterator[RecordedEvent]:
    """The audience's events after `after` up to and including `until`, in commit order."""
    if until <= after:
        return
    if audience.job_id is not None:
        rows = await conn.fetch(
            _STREAM_BETWEEN,
            after.transaction_id,
            after.position,
            until.transaction_id,
            until.position,
            job_stream(audience.job_id),
        )
        for recorded in records_from_rows(rows):
            yield recorded
        return
    while True:
        page = records_from_rows(
            await conn.fetch(
                _BETWEEN,
                after.transaction_id,
                after.position,
                until.transaction_id,
                until.position,
                PAGE_EVENTS,
            )
        )
        await owners.load_for(conn, page)
        for recorded in page:
            if owners.admits(audience, recorded):
                yield recorded
        if len(page) < PAGE_EVENTS:
            return
        after = Checkpoint.of(page[-1])
