"""Decode stored rows into RecordedEvents: one place that knows the column layout."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from service.events.base import RecordedEvent, decode_event

# The readers' column order; a page in this order is unpacked by position.
COLUMNS = (
    "position",
    "transaction_id",
    "stream_id",
    "version",
    "event_id",
    "type",
    "schema_version",
    "data",
    "metadata",
    "recorded_at",
)


def record_from_row(row: asyncpg.Record) -> RecordedEvent:
    """One row, its columns found by name, in whatever order the query selected them."""
    return RecordedEvent(
        position=row["position"],
        transaction_id=row["transaction_id"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=row["event_id"],
        type=row["type"],
        schema_version=row["schema_version"],
        event=decode_event(row["type"], row["data"]),
        metadata=row["metadata"],
        recorded_at=row["recorded_at"],
    )


def records_from_rows(rows: Sequence[asyncpg.Record]) -> list[RecordedEvent]:
    """A page of rows from one query, decoded in order.

    Rows of one query share their columns, so the order is checked once and each row is
    unpacked by position, which is cheaper than ten lookups by name per row.
    """
    if not rows:
        return []
    if tuple(rows[0].keys()) != COLUMNS:
        return [record_from_row(row) for row in rows]
    return [
        RecordedEvent(
            position=position,
            transaction_id=transaction_id,
            stream_id=stream_id,
            version=version,
            event_id=event_id,
            type=event_type,
            schema_version=schema_version,
            event=decode_event(event_type, data),
            metadata=metadata,
            recorded_at=recorded_at,
        )
        for (
            position,
            transaction_id,
            stream_id,
            version,
            event_id,
            event_type,
            schema_version,
            data,
            metadata,
            recorded_at,
        ) in rows
    ]
