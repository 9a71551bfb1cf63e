"""Append to and read from job streams, with optimistic concurrency and idempotent ids.

An append is one statement (`append_to_stream`, sql/0004) in its own implicit
transaction: one round trip. The database enforces versions and ids; this module only
translates its SQLSTATEs into typed errors.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from service.errors import (
    DuplicateEventId,
    InvalidStreamName,
    WrongExpectedVersion,
)
from service.events.base import NewEvent, RecordedEvent, encode_event
from service.events.codec import record_from_row
from service.events.notify import ChangeNotifier

log = logging.getLogger(__name__)

ANY: Literal["any"] = "any"
NO_STREAM: Literal["no_stream"] = "no_stream"
ExpectedVersion = int | Literal["any", "no_stream"]

_APPEND = """
SELECT out_position, out_version, out_transaction_id
FROM append_to_stream($1, $2, $3, $4, $5, $6, $7)
"""
_STREAM_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1"
_READ_STREAM = """
SELECT position, transaction_id, stream_id, version, event_id, type, schema_version,
       data, metadata, recorded_at
FROM events
WHERE stream_id = $1
  AND ($2::bigint IS NULL OR version <= $2)
  AND ($3::timestamptz IS NULL OR recorded_at <= $3)
  AND ($4::bigint IS NULL OR position <= $4)
ORDER BY version
"""

# An "any" append that loses a race retries at the new head; every lost race means another
# writer made progress, so this bounds only pathological contention.
ANY_RETRIES = 50

_WRONG_VERSION = "VR001"
_DUPLICATE_ID = "VR002"


@dataclass(frozen=True)
class AppendResult:
    """Where an append landed: enough to wait for a projection to pass it."""

    stream_id: str
    positions: tuple[int, ...]
    transaction_id: int
    version: int

    @property
    def last_position(self) -> int:
        return self.positions[-1]


def _expected_as_sql(expected: ExpectedVersion) -> int | None:
    if expected == ANY:
        return None
    if expected == NO_STREAM:
        return 0
    if isinstance(expected, int) and expected >= 0:
        return expected
    raise ValueError(
        f"expected version must be an int >= 0, 'any' or 'no_stream', not {expected!r}"
    )


def _check_stream_name(stream: str) -> None:
    if not stream or len(stream) > 200 or not stream.isprintable():
        raise InvalidStreamName(f"invalid stream name {stream!r}", stream=stream)


class EventStore:
    """The only writer of the log. Successful appends ring the notifier."""

    def __init__(self, pool: asyncpg.Pool, notifier: ChangeNotifier | None = None) -> None:
        self._pool = pool
        self._notifier = notifier

    async def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
    ) -> AppendResult:
        """Append `events` to `stream` atomically if it is at `expected_version`.

        Raises WrongExpectedVersion on a conflict and DuplicateEventId when an id is
        already stored with other content; re-appending stored events is a no-op.
        """
        _check_stream_name(stream)
        if not events:
            raise ValueError("append needs at least one event")
        encoded = [encode_event(e.event) for e in events]  # refuses before anything is sent
        args = (
            stream,
            _expected_as_sql(expected_version),
            [e.event_id for e in events],
            [e.event.TYPE for e in events],
            [e.event.SCHEMA_VERSION for e in events],
            encoded,
            [e.metadata.model_dump_json(exclude_none=True) for e in events],
        )
        async with self._pool.acquire() as conn:
            rows = await self._append_once(conn, stream, expected_version, args)
        if self._notifier is not None:
            self._notifier.notify()
        return AppendResult(
            stream_id=stream,
            positions=tuple(r[0] for r in rows),
            transaction_id=rows[-1][2],
            version=rows[-1][1],
        )

    async def _append_once(
        self,
        conn: asyncpg.Connection,
        stream: str,
        expected: ExpectedVersion,
        args: tuple[object, ...],
    ) -> list[asyncpg.Record]:
        for _ in range(ANY_RETRIES):
            try:
                return await conn.fetch(_APPEND, *args)
            except asyncpg.PostgresError as exc:
                state = exc.sqlstate
                if state == _WRONG_VERSION:
                    raise WrongExpectedVersion(stream, expected, int(exc.detail or 0)) from None
                if state == _DUPLICATE_ID:
                    ids = (exc.detail or "").split(",")
                    raise DuplicateEventId(stream, ids) from None
                if isinstance(exc, asyncpg.UniqueViolationError):
                    if exc.constraint_name == "events_stream_version_key":
                        if expected == ANY:
                            continue  # another writer took the version: retry at the new head
                        actual = await conn.fetchval(_STREAM_VERSION, stream)
                        raise WrongExpectedVersion(stream, expected, actual) from None
                    if exc.constraint_name == "events_event_id_key":
                        continue  # a concurrent writer stored this id: the retry is a no-op
                raise
        raise WrongExpectedVersion(stream, expected, await conn.fetchval(_STREAM_VERSION, stream))

    async def stream_version(self, stream: str) -> int:
        """The stream's current version; 0 when it has no events."""
        return await self._pool.fetchval(_STREAM_VERSION, stream)

    async def read_stream(
        self,
        stream: str,
        *,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
        up_to_position: int | None = None,
    ) -> list[RecordedEvent]:
        """One stream's events in version order, optionally only up to a point."""
        rows = await self._pool.fetch(_READ_STREAM, stream, up_to_version, as_of, up_to_position)
        return [record_from_row(r) for r in rows]
