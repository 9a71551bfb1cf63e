"""The append statement and its rare paths: hashes, batches, re-appends and races."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service.bootstrap import Services
from service.errors import DuplicateEventId, WrongExpectedVersion
from service.events.append import append_batch
from service.events.base import EventMetadata, NewEvent
from service.events.job import job_stream
from service.events.store import ANY, NO_STREAM, encode_batch
from tests.builders import new, processing_started, upload_received

_BROKEN_LINKS = """
SELECT count(*) FROM (
    SELECT hash, event_chain_hash(lag(hash) OVER w, stream_id, version, type, data,
                                  metadata) AS expected
    FROM events WINDOW w AS (PARTITION BY stream_id ORDER BY version)
) chain WHERE hash IS DISTINCT FROM expected
"""


async def test_the_append_hash_is_event_chain_hash_for_single_events_and_batches(
    services: Services,
) -> None:
    # Given payloads and metadata with text that stresses the canonical encoding
    created = upload_received(names=('ünï "côdé" \\ \n', "b.mov"))
    stream = job_stream(created.job_id)
    odd = EventMetadata(actor='a\\b "c" \t é', request_id="🙂")
    # When it is appended alone, then in a batch, then alone again
    await services.store.append(stream, [NewEvent.of(created, metadata=odd)], NO_STREAM)
    batch = [NewEvent.of(processing_started(created.job_id, n), metadata=odd) for n in (1, 2, 3)]
    await services.store.append(stream, batch, 1)
    await services.store.append(stream, [new(processing_started(created.job_id, 4))], 4)
    # Then every stored hash is what event_chain_hash (which audits use) computes
    assert await services.database.pool.fetchval(_BROKEN_LINKS) == 0
    assert await services.store.stream_version(stream) == 5


async def test_a_batch_lands_in_order_with_consecutive_versions(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    events = [new(created), *(new(processing_started(created.job_id, n)) for n in (1, 2, 3))]
    result = await services.store.append(stream, events, NO_STREAM)
    stored = await services.store.read_stream(stream)
    assert [e.event_id for e in stored] == [e.event_id for e in events]
    assert [e.version for e in stored] == [1, 2, 3, 4]
    assert result.positions == tuple(e.position for e in stored)
    assert result.version == 4


async def test_each_event_of_a_batch_keeps_its_own_metadata(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    a, b = EventMetadata(actor="a"), EventMetadata(actor="b")
    payloads = [created, *(processing_started(created.job_id, n) for n in (1, 2, 3))]
    events = [NewEvent.of(p, metadata=m) for p, m in zip(payloads, (a, a, b, a), strict=True)]
    await services.store.append(stream, events, NO_STREAM)
    stored = await services.store.read_stream(stream)
    assert [e.metadata.actor for e in stored] == ["a", "a", "b", "a"]


async def test_reappending_a_stored_batch_is_a_noop_returning_its_positions(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    events = [new(created), new(processing_started(created.job_id))]
    first = await services.store.append(stream, events, NO_STREAM)
    # With any expected version the insert trips the unique id; with the old one, the head
    again_any = await services.store.append(stream, events, ANY)
    again_old = await services.store.append(stream, events, NO_STREAM)
    assert again_any.positions == again_old.positions == first.positions
    assert again_any.version == 2
    assert await services.store.stream_version(stream) == 2


async def test_reappending_at_the_current_head_is_a_noop(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    event = new(created)
    first = await services.store.append(stream, [event], NO_STREAM)
    again = await services.store.append(stream, [event], 1)
    assert again.positions == first.positions
    assert await services.store.stream_version(stream) == 1


async def test_a_batch_mixing_stored_and_new_ids_is_refused_whole(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    stored = new(created)
    await services.store.append(stream, [stored], NO_STREAM)
    fresh = new(processing_started(created.job_id))
    with pytest.raises(DuplicateEventId) as caught:
        await services.store.append(stream, [stored, fresh], ANY)
    assert caught.value.fields["event_ids"] == [str(stored.event_id)]
    assert await services.store.stream_version(stream) == 1


async def test_an_id_stored_in_another_stream_is_a_duplicate(services: Services) -> None:
    created = upload_received()
    event = new(created)
    await services.store.append(job_stream(created.job_id), [event], NO_STREAM)
    with pytest.raises(DuplicateEventId):
        await services.store.append("job-elsewhere", [event], NO_STREAM)


async def test_an_id_repeated_within_one_append_is_refused_before_sending(
    services: Services,
) -> None:
    created = upload_received()
    event = new(created)
    with pytest.raises(DuplicateEventId):
        await services.store.append(job_stream(created.job_id), [event, event], NO_STREAM)
    assert await services.database.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_an_expected_version_beyond_the_head_names_the_actual_one(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    for events in ([new(processing_started(created.job_id))], [new(p) for p in _two(created)]):
        with pytest.raises(WrongExpectedVersion) as caught:
            await services.store.append(stream, events, 3)
        assert (caught.value.expected, caught.value.actual) == (3, 1)


async def test_two_batches_at_the_same_expected_version_exactly_one_wins(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    results = await asyncio.gather(
        *(services.store.append(stream, [new(p) for p in _two(created)], 1) for _ in range(6)),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, WrongExpectedVersion) and r.actual == 3 for r in losers)
    assert await services.store.stream_version(stream) == 3


async def test_any_batches_all_land_under_contention(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    await services.store.append(stream, [new(created)], NO_STREAM)
    await asyncio.gather(
        *(services.store.append(stream, [new(p) for p in _two(created)], ANY) for _ in range(6))
    )
    assert await services.store.stream_version(stream) == 13
    assert await services.database.pool.fetchval(_BROKEN_LINKS) == 0


async def test_an_append_racing_a_writer_of_the_same_event_becomes_a_noop(
    services: Services,
) -> None:
    # Given another writer that has inserted the same event but not committed yet
    created = upload_received()
    stream = job_stream(created.job_id)
    event = new(created)
    other = await services.database.connect()
    try:
        tx = other.transaction()
        await tx.start()
        await append_batch(other, stream, encode_batch(stream, [event]), NO_STREAM)
        # When the store appends it too (it waits on the id), and the other writer commits
        ours = asyncio.create_task(services.store.append(stream, [event], ANY))
        await asyncio.sleep(0.2)
        assert not ours.done()
        await tx.commit()
        result = await asyncio.wait_for(ours, 10)
    finally:
        await other.close()
    # Then the store reports the stored event and nothing was written twice
    stored = await services.store.read_stream(stream)
    assert [e.event_id for e in stored] == [event.event_id]
    assert result.positions == (stored[0].position,)


async def test_an_append_racing_a_writer_that_rolls_back_still_lands(
    services: Services,
) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    other = await services.database.connect()
    try:
        tx = other.transaction()
        await tx.start()
        await append_batch(other, stream, encode_batch(stream, [new(created)]), NO_STREAM)
        ours = asyncio.create_task(services.store.append(stream, [new(created)], NO_STREAM))
        await asyncio.sleep(0.2)
        await tx.rollback()
        result = await asyncio.wait_for(ours, 10)
    finally:
        await other.close()
    assert result.version == 1
    assert await services.store.stream_version(stream) == 1


async def test_the_statement_appends_inside_a_callers_transaction(services: Services) -> None:
    created = upload_received()
    stream = job_stream(created.job_id)
    conn: asyncpg.Connection
    async with services.database.pool.acquire() as conn, conn.transaction():
        await append_batch(conn, stream, encode_batch(stream, [new(created)]), NO_STREAM)
        batch = encode_batch(stream, [new(p) for p in _two(created)])
        rows = await append_batch(conn, stream, batch, 1)
        assert [r["version"] for r in rows] == [2, 3]
    assert await services.store.stream_version(stream) == 3


def _two(created: object) -> list[object]:
    job_id = created.job_id  # type: ignore[attr-defined]
    return [processing_started(job_id, 1), processing_started(job_id, 2)]
