"""Reading the whole log in commit order never skips a slower, earlier transaction."""

from __future__ import annotations

import asyncpg

from service.bootstrap import Services
from service.events.append import append_batch
from service.events.base import RecordedEvent
from service.events.job import job_stream
from service.events.log_reader import START, Checkpoint, read_all, read_page
from service.events.store import NO_STREAM, encode_batch
from tests.builders import new, upload_received


async def _append_in(conn: asyncpg.Connection, event: object) -> None:
    """Append with the statement the store uses, inside `conn`'s open transaction."""
    stream = job_stream(event.job_id)  # type: ignore[attr-defined]
    await append_batch(conn, stream, encode_batch(stream, [new(event)]), NO_STREAM)


async def _drain(conn: asyncpg.Connection | asyncpg.Pool, after: Checkpoint) -> list[RecordedEvent]:
    return [e async for e in read_all(conn, after)]


async def test_reader_never_skips_an_earlier_slower_transaction(services: Services) -> None:
    pool = services.database.pool
    slow = await services.database.connect()
    try:
        # Given a transaction that takes the lower position but has not committed
        slow_tx = slow.transaction()
        await slow_tx.start()
        early = upload_received()
        await _append_in(slow, early)
        # And a later transaction with a higher position that commits first
        late = upload_received()
        await services.store.append(job_stream(late.job_id), [new(late)], NO_STREAM)
        # When a subscriber reads now, it must not pass the in-flight transaction
        first_read = await _drain(pool, START)
        checkpoint = Checkpoint.of(first_read[-1]) if first_read else START
        # And the slow transaction commits afterwards
        await slow_tx.commit()
        second_read = await _drain(pool, checkpoint)
    finally:
        await slow.close()
    # Then between the two reads the subscriber saw both events, each once
    seen = [e.event.job_id for e in first_read + second_read]  # type: ignore[attr-defined]
    assert sorted(map(str, seen)) == sorted([str(early.job_id), str(late.job_id)])
    # And the later transaction was held back while the earlier one was in flight
    assert first_read == []


async def test_commit_order_puts_a_lower_position_committed_later_after(services: Services) -> None:
    slow = await services.database.connect()
    try:
        slow_tx = slow.transaction()
        await slow_tx.start()
        early = upload_received()
        await _append_in(slow, early)
        late = upload_received()
        await services.store.append(job_stream(late.job_id), [new(late)], NO_STREAM)
        await slow_tx.commit()
    finally:
        await slow.close()
    events = await read_page(services.database.pool, START)
    # The slow transaction's event has the lower position yet it was assigned its xid first,
    # so commit-order reading returns it first: what matters is that nothing is lost.
    assert {e.stream_id for e in events} == {job_stream(early.job_id), job_stream(late.job_id)}
    keys = [(e.transaction_id, e.position) for e in events]
    assert keys == sorted(keys)


async def test_reading_all_pages_through_the_log_in_order(services: Services) -> None:
    for _ in range(7):
        created = upload_received()
        await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
    events = [e async for e in read_all(services.database.pool, START, page_size=3)]
    assert len(events) == 7
    assert [e.position for e in events] == sorted(e.position for e in events)
    rest = [e async for e in read_all(services.database.pool, Checkpoint.of(events[3]))]
    assert rest == events[4:] or [e.position for e in rest] == [e.position for e in events[4:]]
