"""Reconnecting again and again while events keep coming: across every disconnect the
client sees each event exactly once, in the log's commit order."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from service.events.job import job_stream
from service.events.store import ANY
from service.http.keys import SERVICES
from tests import builders
from tests.http.live_support import new_job, stream

EVENTS = 300


async def test_a_client_that_keeps_reconnecting_misses_and_repeats_nothing(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = client.app[SERVICES]
    jobs = [await new_job(client, alice.id, names=("a.mp4",)) for _ in range(3)]
    files = [(await services.jobs.get(j)).files[0].file_id for j in jobs]
    appended: list[int] = []

    async def writer() -> None:
        for n in range(EVENTS):
            job, file_id = jobs[n % 3], files[n % 3]
            event = builders.variation_rendered(job, file_id, 1 + n % 20)
            result = await services.store.append(job_stream(job), [builders.new(event)], ANY)
            appended.append(result.last_position)
            if n % 10 == 0:
                await asyncio.sleep(0.01)

    rng = random.Random(10)
    # The writer starts once the first snapshot is in hand: an event committed before it
    # is folded into the snapshot, not sent as an event (by design), and never "seen".
    writing: asyncio.Task[None] | None = None
    seen: list[int] = []
    last: str | None = None
    # Given a client that reads a few events, drops the connection and resumes, repeatedly
    while len(seen) < EVENTS:
        extra = {"Last-Event-ID": last} if last is not None else {}
        async with stream(client, "/api/live", alice_headers, **extra) as live:
            for _ in range(rng.randint(1, 25)):
                message = await live.next(within=20)
                if message.event == "snapshot":
                    last = message.id
                    writing = writing or asyncio.create_task(writer())
                    continue
                seen.append(int(message.id or 0))
                last = message.id
                if len(seen) == EVENTS:
                    break
    assert writing is not None
    await writing
    # Then it saw every appended event once, in the order the log commits them
    assert len(seen) == len(set(seen)) == EVENTS
    assert set(seen) == set(appended)
    rows = await services.database.pool.fetch(
        "SELECT position FROM events WHERE position = ANY($1::bigint[])"
        " ORDER BY transaction_id, position",
        appended,
    )
    assert seen == [r["position"] for r in rows]
