"""Event store throughput against the raw-INSERT ceiling of the same server, same run.

    .venv/bin/python bench/eventstore.py [--appends 8000] [--events 200000] [--rounds 20]

Prints events/s for: single-event appends with 1 and 4 writers, batched appends (100 per
append), reading the whole log decoded into event models, and job-view catch-up from
zero. Ceilings: one INSERT per event in its own implicit transaction; executemany of 100
per transaction for the batched case. References (not targets) show where the store's
time goes: the same row inserted plainly into a copy of `events`, and the append
statement alone on a held connection. Each ceiling, reference and store figure is
measured in short rounds taken in turn (the order turns each round), so a load change on
a shared machine hits them alike; ratios are of the summed times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import fresh_databases, server_label
from service.db.database import Database
from service.events.append import Batch, append_batch
from service.events.base import NewEvent
from service.events.job import job_stream
from service.events.log_reader import Checkpoint, read_all
from service.events.store import EventStore
from service.projections import job_view
from service.projections.runner import SubscriptionRunner
from tests.builders import (
    processing_finished,
    processing_started,
    upload_received,
    variation_rendered,
)

TARGETS = {"single_1": 0.8, "single_4": 0.8, "batched": 0.6}  # ratios to the ceiling
RATE_TARGETS = {"read_all": 150_000, "catch_up": 25_000}  # events/s

RAW_TABLE = """
CREATE TABLE raw_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL, version bigint NOT NULL, type text NOT NULL, data jsonb NOT NULL
)
"""
RAW_INSERT = "INSERT INTO raw_events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)"
# References, not targets: where the store's time goes, measured in the same rounds.
# The same row into a table shaped like events (columns, defaults, indexes), no checks.
PLAIN_TABLE = "CREATE TABLE plain_events (LIKE events INCLUDING ALL)"
PLAIN_INSERT = """
INSERT INTO plain_events (stream_id, version, event_id, type, schema_version, data, metadata, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING position, version, transaction_id
"""


def job_events(variations: int = 6) -> list[NewEvent]:
    """A realistic job history: intake, claim, renders, finish."""
    created = upload_received(names=("a.mp4", "b.mov"), variations=variations // 2)
    a, b = (f.file_id for f in created.files)
    job = created.job_id
    renders = [variation_rendered(job, f, i) for f in (a, b) for i in range(1, variations // 2 + 1)]
    events = [created, processing_started(job), *renders, processing_finished(job)]
    return [NewEvent.of(e) for e in events]


async def timed(label: str, events: int, work: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await work()
    rate = events / (time.perf_counter() - start)
    print(f"  {label:<48} {rate:>10,.0f} events/s")
    return rate


Work = Callable[[int], Awaitable[None]]  # does the given number of events' work


async def compare(label: str, works: dict[str, Work], events: int, rounds: int) -> float:
    """Alternate short rounds of each work (the ceiling first, the store last; the order
    turns each round) and print their rates and ratios to the ceiling.

    Ratios are of summed times; the median and quartiles of the store's per-round ratios
    show how much the machine's load moved it.
    """
    chunk = events // rounds
    names = list(works)
    spent = dict.fromkeys(names, 0.0)
    per_round = []
    for n in range(rounds):
        took = {}
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await works[name](chunk)
            took[name] = time.perf_counter() - start
            spent[name] += took[name]
        per_round.append(took[names[0]] / took[names[-1]])
    done = chunk * rounds
    ceiling, store = names[0], names[-1]
    print(f"  {label}")
    for name in names:
        ratio = spent[ceiling] / spent[name]
        spread = ""
        if name == store:
            q1, median, q3 = statistics.quantiles(per_round, n=4)
            spread = f"   (rounds: median {median:.2f}, quartiles {q1:.2f}-{q3:.2f})"
        print(f"    {name:<46} {done / spent[name]:>9,.0f} /s {ratio:>6.2f}x{spread}")
    return spent[ceiling] / spent[store]


async def single_appends(store: EventStore, writers: int, per_writer: int) -> None:
    payload = job_events()[1].event  # a small ProcessingStarted

    async def writer() -> None:
        stream = f"bench-{uuid.uuid4()}"  # not a job stream: the job view ignores it
        for version in range(per_writer):
            await store.append(stream, [NewEvent.of(payload)], version)

    await asyncio.gather(*(writer() for _ in range(writers)))


async def raw_single(pool: asyncpg.Pool, writers: int, per_writer: int) -> None:
    data = job_events()[1].event.model_dump_json()

    async def writer() -> None:
        stream = f"raw-{uuid.uuid4()}"
        async with pool.acquire() as conn:
            for version in range(per_writer):
                await conn.execute(RAW_INSERT, stream, version + 1, "ProcessingStarted", data)

    await asyncio.gather(*(writer() for _ in range(writers)))


async def plain_single(pool: asyncpg.Pool, writers: int, per_writer: int) -> None:
    data = job_events()[1].event.model_dump_json()

    async def writer() -> None:
        stream = f"plain-{uuid.uuid4()}"
        async with pool.acquire() as conn:
            for version in range(per_writer):
                await conn.fetch(
                    PLAIN_INSERT, stream, version + 1, uuid.uuid4(), "ProcessingStarted", 1,
                    data, "{}", b"\0",
                )  # fmt: skip

    await asyncio.gather(*(writer() for _ in range(writers)))


async def statement_single(pool: asyncpg.Pool, writers: int, per_writer: int) -> None:
    """The append statement on a held connection, the event encoded beforehand."""
    data = job_events()[1].event.model_dump_json()

    async def writer() -> None:
        stream = f"bench-{uuid.uuid4()}"
        async with pool.acquire() as conn:
            for version in range(per_writer):
                batch = Batch([uuid.uuid4()], ["ProcessingStarted"], [1], [data], ["{}"])
                await append_batch(conn, stream, batch, version)

    await asyncio.gather(*(writer() for _ in range(writers)))


async def statement_batched(pool: asyncpg.Pool, batches: int) -> None:
    data = job_events()[1].event.model_dump_json()
    async with pool.acquire() as conn:
        for _ in range(batches):
            ids = [uuid.uuid4() for _ in range(100)]
            batch = Batch(ids, ["ProcessingStarted"] * 100, [1] * 100, [data] * 100, ["{}"] * 100)
            await append_batch(conn, f"bench-{uuid.uuid4()}", batch, 0)


async def batched_appends(store: EventStore, batches: int) -> None:
    payload = job_events()[1].event
    for _ in range(batches):
        events = [NewEvent.of(payload) for _ in range(100)]
        await store.append(f"bench-{uuid.uuid4()}", events, 0)


async def raw_batched(pool: asyncpg.Pool, batches: int) -> None:
    data = job_events()[1].event.model_dump_json()
    async with pool.acquire() as conn:
        for _ in range(batches):
            stream = f"raw-{uuid.uuid4()}"
            async with conn.transaction():
                await conn.executemany(
                    RAW_INSERT, [(stream, v + 1, "ProcessingStarted", data) for v in range(100)]
                )


async def seed(store: EventStore, total: int) -> int:
    """Append whole job histories, 4 writers at once, until `total` events exist."""
    per_job = len(job_events())
    jobs = total // per_job
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(jobs):
        queue.put_nowait(n)

    async def writer() -> None:
        while not queue.empty():
            queue.get_nowait()
            events = job_events()
            await store.append(job_stream(events[0].event.job_id), events, 0)  # type: ignore[attr-defined]

    await asyncio.gather(*(writer() for _ in range(4)))
    return jobs * per_job


async def catch_up(database: Database) -> None:
    """Run the job_view runner from zero until it has applied the last committed event."""
    head = await database.pool.fetchrow(
        "SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC"
        " LIMIT 1"
    )
    target = Checkpoint(head["transaction_id"], head["position"])
    done = asyncio.Event()

    def advanced(checkpoint: Checkpoint) -> None:
        if checkpoint >= target:
            done.set()

    runner = SubscriptionRunner(
        job_view.NAME, job_view.JobViewProjection(), database, poll_interval_s=0.01,
        on_advance=advanced,
    )  # fmt: skip
    task = asyncio.create_task(runner.run())
    await done.wait()
    runner.stop()
    await task


async def measure_appends(url: str, args: argparse.Namespace, results: dict[str, float]) -> None:
    """Single and batched appends against their ceilings, in a database of their own."""
    pool = await asyncpg.create_pool(url, min_size=5, max_size=5)
    await pool.execute(RAW_TABLE)
    await pool.execute(PLAIN_TABLE)
    store = EventStore(pool)
    version = await pool.fetchval("SHOW server_version")
    print(f"Event store benchmark: {server_label()}, PostgreSQL {version}")
    print(f"  load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    n, rounds = args.appends, args.rounds
    for writers in (1, 4):
        # warm up every path (prepared statements, caches), then measure
        await raw_single(pool, writers, 50)
        await plain_single(pool, writers, 50)
        await statement_single(pool, writers, 50)
        await single_appends(store, writers, 50)
        results[f"single_{writers}"] = await compare(
            f"single-event appends, {writers} writer{'s' if writers > 1 else ''}",
            {
                "ceiling: raw INSERT, own transaction": (
                    lambda k, w=writers: raw_single(pool, w, k // w)
                ),
                "ref: plain INSERT into a copy of events": (
                    lambda k, w=writers: plain_single(pool, w, k // w)
                ),
                "ref: append statement alone (pre-encoded)": (
                    lambda k, w=writers: statement_single(pool, w, k // w)
                ),
                "store.append": lambda k, w=writers: single_appends(store, w, k // w),
            },
            n,
            rounds,
        )
    await raw_batched(pool, 2)
    await statement_batched(pool, 2)
    await batched_appends(store, 2)
    results["batched"] = await compare(
        "batches of 100 events",
        {
            "ceiling: executemany 100 in a transaction": lambda k: raw_batched(pool, k // 100),
            "ref: append statement alone (pre-encoded)": (
                lambda k: statement_batched(pool, k // 100)
            ),
            "store.append": lambda k: batched_appends(store, k // 100),
        },
        max(n, 100 * rounds) * 2,
        rounds,
    )
    await pool.close()


async def measure_reading(url: str, args: argparse.Namespace, results: dict[str, float]) -> None:
    """Read-all and job-view catch-up over job histories only, in a database of their own."""
    pool = await asyncpg.create_pool(url, min_size=5, max_size=5)
    database = Database(url=url, pool=pool, embedded=False)
    store = EventStore(pool)
    seeded_start = time.perf_counter()
    seeded = await seed(store, args.events)
    print(f"  seeded {seeded:,} job events in {time.perf_counter() - seeded_start:.1f} s")
    total = await pool.fetchval("SELECT count(*) FROM events")

    async def read_everything() -> None:
        count = 0
        async for _ in read_all(pool):
            count += 1
        assert count == total

    results["read_all"] = await timed(f"read all {total:,} decoded", total, read_everything)
    results["catch_up"] = await timed(
        f"job_view catch-up from zero ({seeded:,} job events)",
        seeded,
        lambda: catch_up(database),
    )
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=8000, help="single appends per measurement")
    parser.add_argument(
        "--events", type=int, default=200_000, help="events for read-all and catch-up"
    )
    parser.add_argument("--rounds", type=int, default=20, help="alternations per comparison")
    args = parser.parse_args()

    async with fresh_databases(2) as (appends_url, log_url):
        load_before = os.getloadavg()
        results: dict[str, float] = {}
        await measure_appends(appends_url, args, results)
        await measure_reading(log_url, args, results)
    load_after = os.getloadavg()
    print(f"  load average at end: {' '.join(f'{x:.2f}' for x in load_after)}")
    print("Against the targets:")
    for key, target in TARGETS.items():
        verdict = "met" if results[key] >= target else "MISSED"
        print(f"  {key:<10} {results[key]:>9.2f}x  target >= {target}x  {verdict}")
    for key, target in RATE_TARGETS.items():
        verdict = "met" if results[key] >= target else "MISSED"
        print(f"  {key:<10} {results[key]:>9,.0f}   target >= {target:,} events/s  {verdict}")
    summary = {k: round(v, 3) for k, v in results.items()}
    print(json.dumps({**summary, "load": [round(x, 2) for x in (*load_before, *load_after)]}))


if __name__ == "__main__":
    asyncio.run(main())
