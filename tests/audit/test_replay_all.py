"""`replay --all`: the whole log in the order every subscriber applies it, never passing a
transaction still in flight; a slice from a position, or only some event types."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg
import pytest

from service.bootstrap import Services
from service.errors import UnknownEventType
from service.events.append import append_batch
from service.events.base import RecordedEvent
from service.events.job import job_stream
from service.events.store import NO_STREAM, encode_batch
from service.projections.runner import SubscriptionRunner
from tests.audit.support import command, log_visible, logged_job
from tests.builders import new, upload_received
from tests.support import eventually, running


class Recorder:
    """A subscriber that only remembers the order it was given events in."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        self.seen.extend(e.position for e in events)


async def append_in(conn: asyncpg.Connection) -> int:
    """Append a new job with the store's statement, inside `conn`'s open transaction."""
    created = upload_received()
    stream = job_stream(created.job_id)
    rows = await append_batch(conn, stream, encode_batch(stream, [new(created)]), NO_STREAM)
    return rows[-1][0]


async def append_committed(services: Services) -> int:
    created = upload_received()
    result = await services.store.append(job_stream(created.job_id), [new(created)], NO_STREAM)
    return result.last_position


def positions(output: str) -> list[int]:
    return [int(line.split()[0].lstrip("#")) for line in output.splitlines()]


async def test_all_follows_the_subscribers_order_and_never_passes_an_open_transaction(
    services: Services,
) -> None:
    earlier = await logged_job(services, events=2)
    await log_visible(services)
    slow = await services.database.connect()
    first_id = await services.database.connect()
    try:
        # Given a transaction that takes a lower position and commits later
        slow_tx = slow.transaction()
        await slow_tx.start()
        lower = await append_in(slow)
        # And a job committed meanwhile at a higher position
        higher = await append_committed(services)
        assert lower < higher
        # When --all runs while the slow transaction is still open
        _, during = await command(services, "replay", "--all")
        # Then it stops before it: nothing committed after it began is shown ahead of it
        assert positions(during) == [a.last_position for a in earlier.appended]
        await slow_tx.commit()
        # And given a transaction that took its id first but writes after another commits
        first_tx = first_id.transaction()
        await first_tx.start()
        await first_id.fetchval("SELECT pg_current_xact_id()")
        committed_first = await append_committed(services)
        written_last = await append_in(first_id)
        await first_tx.commit()
    finally:
        await slow.close()
        await first_id.close()
    # When a subscriber reads the whole log, and --all prints it
    recorder = Recorder()
    async with running(
        SubscriptionRunner("audit", recorder, services.database, poll_interval_s=0.02)
    ):
        await eventually(lambda: len(recorder.seen) == 6, within=30)
    _, after = await command(services, "replay", "--all")
    # Then --all lists exactly what the subscriber was given, in the same order
    assert positions(after) == recorder.seen
    assert positions(after).index(lower) < positions(after).index(higher)
    # And that order is not the order of positions: the first transaction id comes first
    assert committed_first < written_last
    assert positions(after).index(written_last) < positions(after).index(committed_first)


async def test_all_starts_at_a_position_and_keeps_only_the_types_asked_for(
    services: Services,
) -> None:
    first = await logged_job(services)
    second = await logged_job(services)
    await log_visible(services)
    _, typed = await command(
        services, "replay", "--all", "--type", "Expired", "--type", "UploadReceived"
    )
    assert [line.split()[3] for line in typed.splitlines()] == [
        "UploadReceived", "Expired", "UploadReceived", "Expired"
    ]  # fmt: skip
    start = second.appended[0].last_position
    _, tail = await command(services, "replay", "--all", "--from-position", str(start), "--json")
    objects = [json.loads(line) for line in tail.splitlines()]
    assert [o["position"] for o in objects] == [a.last_position for a in second.appended]
    assert {o["stream_id"] for o in objects} == {second.stream} != {first.stream}
    with pytest.raises(UnknownEventType):
        await command(services, "replay", "--all", "--type", "Exploded")
