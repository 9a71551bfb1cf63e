"""Append to and read from job streams, with optimistic concurrency and idempotent ids.

An append is one statement (service/events/append.py) in its own implicit transaction:
one round trip. The database enforces versions and ids; the store validates and encodes
the events before anything is sent, and lends appends a connection that skips the pool's
reset between them (service/events/writers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service.errors import DuplicateEventId, EventStoreError, InvalidStreamName
from service.events.append import (
    ANY,
    ANY_RETRIES,
    NO_STREAM,
    STREAM_VERSION,
    Batch,
    ExpectedVersion,
    append_batch,
)
from service.events.base import EventMetadata, NewEvent, RecordedEvent, encode_event
from service.events.codec import records_from_rows
from service.events.notify import ChangeNotifier
from service.events.writers import WriterConnections
from service.metrics import catalogue as metrics

log = logging.getLogger(__name__)

__all__ = ["ANY", "ANY_RETRIES", "NO_STREAM", "AppendResult", "EventStore", "ExpectedVersion"]

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


def _check_stream_name(stream: str) -> None:
    if not stream or len(stream) > 200 or not stream.isprintable():
        raise InvalidStreamName(f"invalid stream name {stream!r}", stream=stream)


def encode_batch(stream: str, events: Sequence[NewEvent]) -> Batch:
    """Validate and encode `events`; refuses before anything is sent."""
    _check_stream_name(stream)
    if len(events) == 1:  # most appends: no loop, no list growing
        (new,) = events
        payload = new.event
        data = encode_event(payload)
        return Batch(
            [new.event_id],
            [payload.TYPE],
            [payload.SCHEMA_VERSION],
            [data],
            [_encode_metadata(new.metadata)],
        )
    if not events:
        raise ValueError("append needs at least one event")
    batch = Batch(event_ids=[], types=[], schema_versions=[], data=[], metadata=[])
    for new in events:  # one pass: an append's own cost is mostly this loop
        payload = new.event
        batch.data.append(encode_event(payload))
        batch.event_ids.append(new.event_id)
        batch.types.append(payload.TYPE)
        batch.schema_versions.append(payload.SCHEMA_VERSION)
        batch.metadata.append(_encode_metadata(new.metadata))
    if len(events) > 1 and len(set(batch.event_ids)) != len(events):
        ids = batch.event_ids
        raise DuplicateEventId(stream, sorted({str(i) for i in ids if ids.count(i) > 1}))
    return batch


_METADATA_JSON = EventMetadata.__pydantic_serializer__.to_json
# The last metadata encoded and its JSON: the events of one append, and a component's
# successive appends, mostly share one (frozen) instance.
_last_metadata: tuple[EventMetadata | None, str] = (None, "")


def _encode_metadata(metadata: EventMetadata) -> str:
    global _last_metadata
    last, encoded = _last_metadata
    if metadata is not last:
        encoded = _METADATA_JSON(metadata, exclude_none=True).decode()
        _last_metadata = (metadata, encoded)
    return encoded


class EventStore:
    """The only writer of the log. Successful appends ring the notifier."""

    def __init__(self, pool: asyncpg.Pool, notifier: ChangeNotifier | None = None) -> None:
        self._pool = pool
        self._writers = WriterConnections(pool)
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
        batch = encode_batch(stream, events)
        writers = self._writers
        conn = writers.take() or await writers.acquire()
        try:
            rows = await append_batch(conn, stream, batch, expected_version)
        except (asyncpg.PostgresError, EventStoreError):
            if not writers.keep(conn):  # the server answered: the connection is idle
                await writers.give_back(conn)
            raise
        except BaseException:
            await writers.give_back(conn)  # cancelled or broken: the pool recovers it
            raise
        if not writers.keep(conn):
            await writers.give_back(conn)
        if self._notifier is not None:
            self._notifier.notify()
        for new in events:
            metrics.appended(new.event.TYPE).inc()
        last = rows[-1]
        return AppendResult(
            stream_id=stream,
            positions=(last[0],) if len(rows) == 1 else tuple([r[0] for r in rows]),
            transaction_id=last[2],
            version=last[1],
        )

    def committed_elsewhere(self) -> None:
        """Wake subscribers for events a caller appended with `append_batch` on its own
        transaction (which needs other writes to commit with it), once it has committed."""
        if self._notifier is not None:
            self._notifier.notify()

    async def stream_version(self, stream: str) -> int:
        """The stream's current version; 0 when it has no events."""
        return await self._pool.fetchval(STREAM_VERSION, stream)

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
        return records_from_rows(rows)
