"""Decoding stored rows: by position when the columns are in the readers' order, by name
otherwise, and payloads are validated into their models either way."""

from __future__ import annotations

import gc
import uuid

import pytest

from service.bootstrap import Services
from service.errors import InvalidEventPayload, UnknownEventType
from service.events.codec import COLUMNS, record_from_row, records_from_rows
from service.events.job import job_stream
from service.events.store import NO_STREAM
from tests.builders import new, processing_started, upload_received

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position"
_SHUFFLED = f"SELECT {', '.join(reversed(COLUMNS))} FROM events ORDER BY position"
_STRAY = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata, hash)
VALUES ('job-stray', 1, $1, $2, 1, $3::jsonb, '{}', '\\x00')
"""


async def test_rows_decode_alike_in_the_readers_order_and_any_other(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(
        stream, [new(created), new(processing_started(created.job_id))], NO_STREAM
    )
    pool = services.database.pool
    in_order = records_from_rows(await pool.fetch(_SELECT))
    shuffled = records_from_rows(await pool.fetch(_SHUFFLED))
    one_by_one = [record_from_row(r) for r in await pool.fetch(_SHUFFLED)]
    for decoded in (in_order, shuffled, one_by_one):
        assert [e.event for e in decoded] == [created, processing_started(created.job_id)]
        assert [e.version for e in decoded] == [1, 2]
        assert decoded[0].metadata.actor == "test"
    assert records_from_rows([]) == []


@pytest.mark.parametrize(
    ("event_type", "data", "error"),
    [
        ("ProcessingStarted", '{"job_id": "not a uuid"}', InvalidEventPayload),
        ("SomethingElse", "{}", UnknownEventType),
    ],
)
async def test_a_stored_payload_that_does_not_validate_is_refused_on_reading(
    services: Services, event_type: str, data: str, error: type[Exception]
) -> None:
    pool = services.database.pool
    await pool.execute(_STRAY, uuid.uuid4(), event_type, data)
    with pytest.raises(error):
        records_from_rows(await pool.fetch(_SELECT))


async def test_decoding_leaves_the_garbage_collector_as_it_found_it(services: Services) -> None:
    created = upload_received()
    await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
    pool = services.database.pool
    rows = await pool.fetch(_SELECT)
    assert gc.isenabled()
    records_from_rows(rows)
    assert gc.isenabled()
    await pool.execute(_STRAY, uuid.uuid4(), "SomethingElse", "{}")
    with pytest.raises(UnknownEventType):
        records_from_rows(await pool.fetch(_SELECT))
    assert gc.isenabled()
    gc.disable()
    try:
        records_from_rows(rows)
        assert not gc.isenabled()
    finally:
        gc.enable()
