"""The event store: optimistic concurrency, idempotent ids, validation, append-only."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service.bootstrap import Services
from service.errors import (
    DuplicateEventId,
    InvalidEventPayload,
    UnknownEventType,
    WrongExpectedVersion,
)
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import UploadReceived, job_stream
from service.events.store import ANY, NO_STREAM
from tests.builders import new, processing_started, upload_received


async def test_appends_and_reads_back_a_stream_in_version_order(services: Services) -> None:
    # Given a new job stream
    created = upload_received()
    stream = job_stream(created.job_id)
    # When two appends land
    first = await services.store.append(stream, [new(created)], NO_STREAM)
    second = await services.store.append(stream, [new(processing_started(created.job_id))], 1)
    # Then the stream reads back both, decoded, with versions 1 and 2
    events = await services.store.read_stream(stream)
    assert [e.version for e in events] == [1, 2]
    assert events[0].event == created
    assert [e.position for e in events] == [*first.positions, *second.positions]
    assert events[0].metadata.actor == "test"


async def test_a_wrong_expected_version_names_stream_expected_and_actual(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    with pytest.raises(WrongExpectedVersion) as caught:
        await services.store.append(stream, [new(processing_started(created.job_id))], 5)
    assert (caught.value.stream, caught.value.expected, caught.value.actual) == (stream, 5, 1)
    assert stream in caught.value.message and "5" in caught.value.message
    with pytest.raises(WrongExpectedVersion):
        await services.store.append(stream, [new(upload_received(created.job_id))], NO_STREAM)
    assert await services.store.stream_version(stream) == 1


async def test_two_writers_at_the_same_expected_version_exactly_one_wins(
    services: Services,
) -> None:
    # Given a stream at version 1
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    # When eight writers race to append at expected version 1
    results = await asyncio.gather(
        *(
            services.store.append(stream, [new(processing_started(created.job_id, n))], 1)
            for n in range(1, 9)
        ),
        return_exceptions=True,
    )
    # Then exactly one succeeded and every other one got a version conflict
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, WrongExpectedVersion) and r.actual == 2 for r in losers)
    assert await services.store.stream_version(stream) == 2


async def test_any_version_appends_at_the_head_even_under_contention(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    await asyncio.gather(
        *(
            services.store.append(stream, [new(processing_started(created.job_id, n))], ANY)
            for n in range(1, 6)
        )
    )
    assert await services.store.stream_version(stream) == 6


async def test_reappending_a_stored_event_is_a_noop_returning_its_positions(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    event = new(created)
    first = await services.store.append(stream, [event], NO_STREAM)
    # The retry carries different metadata (a new request), but the same id and payload.
    retry = NewEvent.of(created, event_id=event.event_id, metadata=EventMetadata(actor="retry"))
    again = await services.store.append(stream, [retry], NO_STREAM)
    assert again.positions == first.positions
    assert again.version == 1
    assert len(await services.store.read_stream(stream)) == 1


async def test_reappending_an_id_with_different_content_is_refused(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    event = new(created)
    await services.store.append(stream, [event], NO_STREAM)
    other = new(upload_received(created.job_id), event_id=event.event_id)
    with pytest.raises(DuplicateEventId) as caught:
        await services.store.append(stream, [other], ANY)
    assert str(event.event_id) in caught.value.message
    assert await services.store.stream_version(stream) == 1


async def test_an_invalid_payload_is_refused_and_nothing_is_written(services: Services) -> None:
    created = upload_received()
    # model_construct skips validation, like a buggy caller would
    broken = UploadReceived.model_construct(**{**created.__dict__, "variations_per_video": 99})
    with pytest.raises(InvalidEventPayload) as caught:
        await services.store.append(job_stream(created.job_id), [new(broken)], NO_STREAM)
    assert "variations_per_video" in caught.value.message
    assert await services.database.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_an_unregistered_event_type_is_refused(services: Services) -> None:
    class SomethingHappened(Event):
        TYPE = "SomethingHappened"

    with pytest.raises(UnknownEventType):
        await services.store.append("job-x", [new(SomethingHappened())], ANY)
    assert await services.database.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_reading_up_to_a_version_or_a_position_stops_there(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    r2 = await services.store.append(stream, [new(processing_started(created.job_id))], ANY)
    await services.store.append(stream, [new(processing_started(created.job_id, 2))], ANY)
    assert len(await services.store.read_stream(stream, up_to_version=2)) == 2
    assert len(await services.store.read_stream(stream, up_to_position=r2.last_position)) == 2
    first = (await services.store.read_stream(stream))[0]
    as_of = await services.store.read_stream(stream, as_of=first.recorded_at)
    assert [e.version for e in as_of] == [1]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'Tampered'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_the_database_refuses_to_change_or_remove_events(
    services: Services, statement: str
) -> None:
    created = upload_received()
    await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
    with pytest.raises(asyncpg.PostgresError, match="append-only") as caught:
        await services.database.pool.execute(statement)
    assert caught.value.sqlstate == "VR003"
    assert await services.database.pool.fetchval("SELECT count(*) FROM events") == 1


async def test_each_event_hash_chains_to_the_previous_one_in_its_stream(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    await services.store.append(stream, [new(processing_started(created.job_id))], 1)
    broken = await services.database.pool.fetchval(
        """
        SELECT count(*) FROM (
            SELECT hash, event_chain_hash(lag(hash) OVER w, stream_id, version, type, data,
                                          metadata) AS expected
            FROM events WINDOW w AS (PARTITION BY stream_id ORDER BY version)
        ) chain WHERE hash <> expected
        """
    )
    assert broken == 0
