"""Decode stored rows into RecordedEvents: one place that knows the column layout."""

from __future__ import annotations

import asyncpg

from service.events.base import RecordedEvent, decode_event


def record_from_row(row: asyncpg.Record) -> RecordedEvent:
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
