"""Event store throughput against the raw-INSERT ceiling of the same server, same run.

    .venv/bin/python bench/eventstore.py [--appends 4000] [--events 200000]

Prints events/s for: single-event appends with 1 and 4 writers, batched appends (100 per
append), reading the whole log decoded into event models, and job-view catch-up from
zero. Ceilings: one INSERT per event in its own implicit transaction; executemany of 100
per transaction for the batched case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._db import fresh_database, server_label
from service.db.database import Database
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

RAW_TABLE = """
CREATE TABLE raw_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id text NOT NULL, version bigint NOT NULL, type text NOT NULL, data jsonb NOT NULL
)
"""
RAW_INSERT = "INSERT INTO raw_events (stream_id, version, type, data) VALUES ($1, $2, $3, $4)"


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
    print(f"  {label:<44} {rate:>10,.0f} events/s")
    return rate


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=4000, help="single appends per measurement")
    parser.add_argument(
        "--events", type=int, default=200_000, help="events for read-all and catch-up"
    )
    args = parser.parse_args()

    async with fresh_database() as url:
        pool = await asyncpg.create_pool(url, min_size=5, max_size=5)
        await pool.execute(RAW_TABLE)
        database = Database(url=url, pool=pool, embedded=False)
        store = EventStore(pool)
        n = args.appends
        print(f"Event store benchmark on {server_label()}")
        results: dict[str, float] = {}
        for writers in (1, 4):
            # warm up both paths (prepared statements, caches), then measure
            await raw_single(pool, writers, 50)
            await single_appends(store, writers, 50)
            ceiling = await timed(
                f"raw INSERT, {writers} writer(s)", n, lambda w=writers: raw_single(pool, w, n // w)
            )
            ours = await timed(
                f"store.append single, {writers} writer(s)",
                n,
                lambda w=writers: single_appends(store, w, n // w),
            )
            results[f"single_{writers}"] = ours / ceiling
        batches = max(1, n // 50)
        ceiling = await timed(
            "raw executemany 100/transaction", batches * 100, lambda: raw_batched(pool, batches)
        )
        ours = await timed(
            "store.append batch of 100", batches * 100, lambda: batched_appends(store, batches)
        )
        results["batched"] = ours / ceiling

        await pool.execute("TRUNCATE raw_events")
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
    print("Ratios to the raw ceiling (targets: single >= 0.8, batched >= 0.6):")
    for key in ("single_1", "single_4", "batched"):
        print(f"  {key:<10} {results[key]:.2f}x")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


if __name__ == "__main__":
    asyncio.run(main())
