"""Live streams under load: SSE clients on `/api/live` while jobs append events.

    .venv/bin/python bench/live.py [--clients 200] [--users 20] [--rate 200]
                                   [--seconds 60] [--warmup 10]

Starts `serve` (role `api`, with an event-loop lag sampler: bench/live_serve.py) on a
fresh database (VR_DATABASE_URL's server, else an embedded one), creates `--users` users
with 2 jobs each, opens `--clients` streams spread evenly over the users, then appends
`--rate` events per second in all (round-robin over the jobs, so over the users) from
this process. Over the `--seconds` window after `--warmup`: append-to-delivery latency
(the append's start to the arrival of the event's `id:` line at a client; p50, p99, max),
the server's CPU per delivered event, its event-loop lag (p50, p99, max; and how much
of it the loop's own work could account for: the lag, capped by the CPU its thread used
in that interval), and its RSS growth. Also printed: whether every event reached every
stream of its owner exactly once, and this process's own loop lag (it runs all clients,
so its lag adds to the latency).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from bench._serve import free_port  # noqa: E402
from bench._stats import own_lag, pct  # noqa: E402
from service.accounts import passwords, tokens, users  # noqa: E402
from service.events.base import EventMetadata, NewEvent  # noqa: E402
from service.events.job import job_stream  # noqa: E402
from service.events.notify import ChangeNotifier  # noqa: E402
from service.events.store import ANY, NO_STREAM, EventStore  # noqa: E402
from tests.builders import upload_received, variation_rendered  # noqa: E402

JOBS_PER_USER = 2
WRITERS = 8  # appends in flight at once, at most


async def seed(pool: asyncpg.Pool, store: EventStore, count: int) -> list[dict[str, object]]:
    """`count` users, each with a token and JOBS_PER_USER received jobs (one file each)."""
    hashed = await passwords.hash_password("bench password")
    now = datetime.now(UTC)
    made = []
    for n in range(count):
        user = await users.create_user(pool, f"bench{n:03d}", hashed, is_admin=False, now=now)
        token, _ = await tokens.issue(pool, user.id, now=now, ttl_s=86_400)
        jobs = []
        for _ in range(JOBS_PER_USER):
            upload = upload_received(
                owner_id=user.id, names=("clip.mp4",), received_at=now, retention=timedelta(days=1)
            )
            await store.append(job_stream(upload.job_id), [NewEvent.of(upload)], NO_STREAM)
            jobs.append((upload.job_id, upload.files[0].file_id))
        made.append({"user": user.id, "token": token, "jobs": jobs})
    return made


class Client:
    """One EventSource-like stream: records when each event id arrives."""

    def __init__(self, user: uuid.UUID) -> None:
        self.user = user
        self.arrivals: list[tuple[int, float]] = []
        self.connected = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200, response.status
            first = True
            async for line in response.content:
                if not line.startswith(b"id:"):
                    continue
                if first:  # the snapshot's id
                    first = False
                    self.connected.set()
                    continue
                self.arrivals.append((int(line[3:]), time.monotonic()))


async def write(
    store: EventStore, seeded: list[dict[str, object]], rate: float, stop: asyncio.Event
) -> dict[int, tuple[float, uuid.UUID]]:
    """Append `rate` events/s round-robin over every job; position -> (start, owner)."""
    jobs = [(u["user"], j) for j in range(JOBS_PER_USER) for u in seeded]
    sent: dict[int, tuple[float, uuid.UUID]] = {}
    gate = asyncio.Semaphore(WRITERS)
    metadata = EventMetadata(actor="bench")

    async def one(owner: uuid.UUID, job_id: uuid.UUID, file_id: uuid.UUID, index: int) -> None:
        async with gate:
            started = time.monotonic()
            event = variation_rendered(job_id, file_id, 1 + index % 20)
            result = await store.append(
                job_stream(job_id), [NewEvent.of(event, metadata=metadata)], ANY
            )
            sent[result.last_position] = (started, owner)

    loop = asyncio.get_running_loop()
    begin = loop.time()
    tasks = []
    for n in itertools.count():
        if stop.is_set():
            break
        owner, which = jobs[n % len(jobs)]
        user = next(u for u in seeded if u["user"] == owner)
        job_id, file_id = user["jobs"][which]  # type: ignore[index]
        tasks.append(asyncio.create_task(one(owner, job_id, file_id, n)))  # type: ignore[arg-type]
        await asyncio.sleep(max(0.0, begin + (n + 1) / rate - loop.time()))
    await asyncio.gather(*tasks)
    return sent


async def run(args: argparse.Namespace) -> None:
    print(f"Live streams benchmark on {server_label()}: {args.clients} clients, "
          f"{args.users} users, {args.rate:g} events/s, {args.seconds:g} s window")  # fmt: skip
    async with fresh_database() as url:
        pool = await asyncpg.create_pool(url, min_size=2, max_size=WRITERS + 2)
        notifier = ChangeNotifier(pool)  # as the service's writers do: streams wake on it
        await notifier.start()
        store = EventStore(pool, notifier)
        seeded = await seed(pool, store, args.users)
        data_dir = Path(tempfile.mkdtemp(prefix="vr-bench-live-"))
        lag_file = data_dir / "lag.txt"
        port = free_port()
        env = {**os.environ, "VR_DATABASE_URL": url, "VR_DATA_DIR": str(data_dir),
               "VR_PORT": str(port), "VR_ROLE": "api", "VR_LOG_LEVEL": "WARNING",
               "VR_BENCH_LAG_FILE": str(lag_file), "PYTHONPATH": str(ROOT)}  # fmt: skip
        server = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bench" / "live_serve.py"), env=env, cwd=ROOT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            connector = aiohttp.TCPConnector(limit=0)
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                for _ in range(600):
                    try:
                        async with session.get(f"{base}/healthz") as ready:
                            if ready.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
                clients = []
                for n in range(args.clients):
                    user = seeded[n % len(seeded)]
                    clients.append(Client(user["user"]))  # type: ignore[arg-type]
                streams = [
                    asyncio.create_task(
                        c.run(session, f"{base}/api/live", str(seeded[n % len(seeded)]["token"]))
                    )
                    for n, c in enumerate(clients)
                ]
                await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)
                stop = asyncio.Event()
                my_lag: list[float] = []
                lagging = asyncio.create_task(own_lag(my_lag, stop))
                writing = asyncio.create_task(write(store, seeded, args.rate, stop))
                await asyncio.sleep(args.warmup)
                serving = psutil.Process(server.pid)
                cpu_before = sum(serving.cpu_times()[:2])
                rss_before = serving.memory_info().rss
                rss_peak = rss_before
                window_start_wall = time.time()
                window_start = time.monotonic()
                lag_from = len(my_lag)
                while time.monotonic() - window_start < args.seconds:
                    await asyncio.sleep(1)
                    rss_peak = max(rss_peak, serving.memory_info().rss)
                window_end = time.monotonic()
                window_end_wall = time.time()
                cpu_window = sum(serving.cpu_times()[:2]) - cpu_before
                rss_after = serving.memory_info().rss
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                client_lag = my_lag[lag_from:]
                stop.set()
                sent = await writing
                await asyncio.sleep(2)  # the last deliveries
                lagging.cancel()
                for task in streams:
                    task.cancel()
                await asyncio.gather(*streams, return_exceptions=True)
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 60)
            await notifier.stop()
            await pool.close()
    report(args, clients, sent, window_start, window_end, cpu_window, rss_before, rss_after,
           rss_peak, lag_file, window_start_wall, window_end_wall, client_lag, load)  # fmt: skip


def report(
    args: argparse.Namespace,
    clients: list[Client],
    sent: dict[int, tuple[float, uuid.UUID]],
    window_start: float,
    window_end: float,
    cpu_window: float,
    rss_before: int,
    rss_after: int,
    rss_peak: int,
    lag_file: Path,
    wall_start: float,
    wall_end: float,
    client_lag: list[float],
    load: str,
) -> None:
    by_owner: dict[uuid.UUID, set[int]] = defaultdict(set)
    for position, (_, owner) in sent.items():
        by_owner[owner].add(position)
    latencies, delivered_in_window, exact = [], 0, 0
    for client in clients:
        # Seeded events (before the writer) may follow a snapshot taken before the job
        # view had them: correct, but not part of this count.
        got = [p for p, _ in client.arrivals if p in sent]
        if sorted(got) == sorted(by_owner[client.user]) and len(got) == len(set(got)):
            exact += 1
        else:
            want = by_owner[client.user]
            missing = sorted(want - set(got))
            extra = sorted(set(got) - want)
            dups = len(got) - len(set(got))
            print(f"  ! stream of {client.user}: {len(missing)} missing {missing[:5]}, "
                  f"{len(extra)} unexpected {extra[:5]}, {dups} repeated")  # fmt: skip
        for position, arrived in client.arrivals:
            started = sent.get(position, (None, None))[0]
            if started is None or not window_start <= started < window_end:
                continue
            latencies.append(arrived - started)
            delivered_in_window += 1
    server_lag, own_lag = [], []
    for line in lag_file.read_text().splitlines():
        stamp, lag, cpu = (float(x) for x in line.split())
        if wall_start <= stamp < wall_end:
            server_lag.append(lag)
            own_lag.append(min(lag, cpu))  # at most this much of it was our own code running
    appended = sum(1 for s, _ in sent.values() if window_start <= s < window_end)
    ms = 1000
    print(f"  appended in window     {appended} ({appended / args.seconds:.0f}/s)")
    print(f"  delivered in window    {delivered_in_window} "
          f"({delivered_in_window / args.seconds:.0f}/s)")  # fmt: skip
    print(f"  streams exact          {exact}/{len(clients)} got each of their events once")
    print(f"  delivery latency       p50 {pct(latencies, 0.5) * ms:.1f} ms, "
          f"p99 {pct(latencies, 0.99) * ms:.1f} ms, max {max(latencies) * ms:.1f} ms")  # fmt: skip
    per_event = cpu_window / delivered_in_window * 1e6 if delivered_in_window else float("nan")
    print(f"  server CPU             {cpu_window:.1f} s in {args.seconds:g} s, "
          f"{per_event:.0f} µs per delivered event")  # fmt: skip
    print(
        f"  server loop lag        p50 {pct(server_lag, 0.5) * ms:.2f} ms, "
        f"p99 {pct(server_lag, 0.99) * ms:.2f} ms, max {max(server_lag) * ms:.1f} ms"
    )
    print(
        f"  of which own work      p99 {pct(own_lag, 0.99) * ms:.2f} ms, "
        f"max {max(own_lag) * ms:.1f} ms (the rest: waiting for a core)"
    )
    mib = 1 << 20
    print(
        f"  server RSS             {rss_before / mib:.1f} -> {rss_after / mib:.1f} MiB "
        f"(growth {(rss_after - rss_before) / mib:+.1f} MiB, peak {rss_peak / mib:.1f})"
    )
    print(f"  bench loop lag         p99 {pct(client_lag, 0.99) * ms:.2f} ms "
          f"(the clients' process)")  # fmt: skip
    print(f"  load average at end    {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=200, help="events appended per second")
    parser.add_argument("--seconds", type=float, default=60, help="the measured window")
    parser.add_argument("--warmup", type=float, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
