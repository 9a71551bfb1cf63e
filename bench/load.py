"""Load: one `serve` under a crowd for 60 s at a fixed arrival rate; does it stay flat?

    .venv/bin/python bench/load.py [--seconds 60] [--downloads 50] [--uploads 10]
        [--streams 100] [--users 10] [--outputs 8] [--output-mib 1] [--upload-mib 1]

Starts `serve` (role `api`: rendering is bench/render.py's subject) on a fresh database
(VR_DATABASE_URL's server, else an embedded one) holding a finished job of `--outputs`
random outputs and `--users` users. After a warm-up (one request of each kind) and a
baseline of the server's RSS and open descriptors, `--streams` pages open `/api/live`
(50 a second, spread over the users) and then, for `--seconds`:

- downloads: `--downloads` lanes fetch the job's ZIP every `--download-every` s; every
  4th is a resume (`Range: bytes=<random>-`, `If-Range`); every byte is compared;
- uploads: `--uploads` lanes send a video of `--upload-mib` every `--upload-every` s,
  half by multipart, half by tus (create, PATCH, job);
- live: each stream is reopened with `Last-Event-ID` every `--stream-s` s (EventSource's
  reconnect), and must be told of every job its owner uploaded exactly once;
- job list: each page polls `GET /api/jobs` every `--poll-every` s.

Every lane has a fixed schedule; a request is timed from when it was due, not from when
it was sent (bench/_load_clients.py). Then the clients leave and the server is watched
until its descriptors are back to the baseline (`--settle-s` at most). Printed: per kind
requests, errors, p50/p99/max latency; the server's RSS and descriptors at the baseline,
peak, end of load and after the clients left; the bench's own loop lag; the server's
oldest open transaction holding an xid (sampled from pg_stat_activity: every reader of
the log in commit order waits behind it); the load average.
Exits 1 when a target is missed: 0 errors, RSS after within 32 MiB of the baseline,
descriptors back to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from bench._load_clients import (  # noqa: E402
    LiveLane,
    Tally,
    Target,
    bearer,
    download,
    list_jobs,
    run_lane,
    stream_check,
    upload_multipart,
    upload_tus,
)
from bench._proc import MIB, Fds, ProcessSampler  # noqa: E402
from bench._seed import seed_job, seed_users, video_bytes  # noqa: E402
from bench._serve import Served, load_average, running_serve  # noqa: E402
from bench._stats import own_lag, pct  # noqa: E402
from service.settings import Settings  # noqa: E402

RSS_TARGET = 32 * MIB
OPENS_PER_S = 50  # streams opened before the window
SETTLE_POLL_S = 0.5
HELD_POLL_S = 0.1
OLDEST_XID_HOLDER = """
SELECT extract(epoch FROM clock_timestamp() - xact_start)::float8 AS age, state,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'video-refresher %'
  AND backend_xid IS NOT NULL
ORDER BY xact_start LIMIT 1
"""
SLOW_HOLDER_S = 0.1  # a holder this old is named in the report
# The pool keeps idle connections up to its maximum, those above its minimum for 300 s.
POOL_MIN = Settings.model_fields["pool_min_size"].default
POOL_MAX = Settings.model_fields["pool_max_size"].default
RESUME_EVERY = 4  # every 4th download of a lane is a resume
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)  # heartbeat 15 s
Users = list[tuple[uuid.UUID, str]]  # (user id, bearer token)
KINDS = ("download", "download resume", "upload multipart", "upload tus", "job list",
         "live open", "live resume")  # fmt: skip


def schedule(start: float, lane: int, lanes: int, every: float, until: float) -> list[float]:
    """Lane `lane` of `lanes`, every `every` s: the lanes' phases spread over one period."""
    times, due = [], start + every * lane / lanes
    while due < until:
        times.append(due)
        due += every
    return times


async def open_transactions(
    url: str, samples: list[float], slow: Counter[str], stop: asyncio.Event
) -> None:
    """The age of the server's oldest open transaction that holds an xid, every
    HELD_POLL_S (every reader of the log in commit order waits until it ends); the last
    statement of those older than SLOW_HOLDER_S, counted."""
    conn = await asyncpg.connect(url)
    try:
        while not stop.is_set():
            row = await conn.fetchrow(OLDEST_XID_HOLDER)
            samples.append(row["age"] if row else 0.0)
            if row and row["age"] > SLOW_HOLDER_S:
                slow[f"{row['state']}: {row['query']}"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HELD_POLL_S)
    finally:
        await conn.close()


def new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=TIMEOUT)


async def warm_up(served: Served, job: tuple[uuid.UUID, str], users: Users, body: bytes) -> Target:
    """One request of each kind (and the reference archive), with its own connections."""
    job_id, job_token = job
    owner, token = users[0]
    async with new_session() as session:
        await _until_projected(session, f"{served.url}/api/jobs/{job_id}", job_token)
        url = f"{served.url}/api/jobs/{job_id}/download"
        async with session.get(url, headers=bearer(job_token)) as response:
            assert response.status == 200, response.status
            archive, etag = await response.read(), response.headers["ETag"]
        target = Target(served.url, job_id, job_token, archive, etag, body)
        await download(session, target, len(archive) // 2)
        await upload_multipart(session, served.url, token, body)
        await upload_tus(session, served.url, token, body)
        await list_jobs(session, served.url, token)
        leave = asyncio.Event()
        page = LiveLane(str(owner), token)
        loop = asyncio.get_running_loop()
        opens = [loop.time(), loop.time() + 1]  # opened, then resumed once
        asyncio.get_running_loop().call_later(2, leave.set)
        tally = Tally()
        await page.run(session, served.url, opens, leave, (tally, tally))
        if tally.errors:
            raise SystemExit(f"warm-up stream failed: {dict(tally.errors)}")
    return target


async def _until_projected(session: aiohttp.ClientSession, url: str, token: str) -> None:
    """Ready is not caught up: the job view projects the seeded job just after start."""
    for _ in range(600):
        async with session.get(url, headers=bearer(token)) as response:
            if response.status == 200 and (await response.json())["status"] == "completed":
                return
        await asyncio.sleep(0.1)
    raise SystemExit("the seeded job never showed as completed")


async def crowd(
    args: argparse.Namespace, target: Target, users: Users, sampler: ProcessSampler
) -> tuple[dict[str, Tally], list[LiveLane], dict[str, list[str]], tuple[int, int]]:
    """The crowd arrives, runs its schedules, and leaves; (tallies, pages, uploads, the
    server's (RSS, fds) at the end of the load, before the clients left)."""
    tallies = {kind: Tally() for kind in KINDS}
    uploaded: dict[str, list[str]] = defaultdict(list)
    loop = asyncio.get_running_loop()
    leave = asyncio.Event()
    async with new_session() as session:
        pages = [LiveLane(str(users[n % len(users)][0]), users[n % len(users)][1])
                 for n in range(args.streams)]  # fmt: skip
        begin = loop.time() + 0.5
        t0 = begin + args.streams / OPENS_PER_S + 1.0
        end = t0 + args.seconds
        live = [
            asyncio.create_task(page.run(
                session, target.url,
                [begin + n / OPENS_PER_S, *schedule(t0, n, len(pages), args.stream_s, end)],
                leave, (tallies["live open"], tallies["live resume"])))
            for n, page in enumerate(pages)
        ]  # fmt: skip
        lanes: list[Awaitable[None]] = []

        def lane(kind: str, n: int, count: int, every: float, send: Callable) -> None:
            lanes.append(run_lane(schedule(t0, n, count, every, end), [tallies[kind]], send))

        downloads = [tallies["download"]] * (RESUME_EVERY - 1) + [tallies["download resume"]]
        for n in range(args.downloads):
            rng = random.Random(n)

            async def fetch(k: int, rng: random.Random = rng) -> None:
                resume = k % RESUME_EVERY == RESUME_EVERY - 1
                offset = rng.randrange(len(target.archive)) if resume else None
                await download(session, target, offset)

            times = schedule(t0, n, args.downloads, args.download_every, end)
            lanes.append(run_lane(times, downloads, fetch))
        for n in range(args.uploads):
            owner, token = users[n % len(users)]
            door = upload_multipart if n % 2 == 0 else upload_tus

            async def send(_k: int, token: str = token, owner: str = str(owner), door=door) -> None:
                uploaded[owner].append(await door(session, target.url, token, target.upload_body))

            lane("upload multipart" if n % 2 == 0 else "upload tus", n, args.uploads,
                 args.upload_every, send)  # fmt: skip
        for n in range(args.streams):

            async def poll(_k: int, token: str = users[n % len(users)][1]) -> None:
                await list_jobs(session, target.url, token)

            lane("job list", n, args.streams, args.poll_every, poll)
        await asyncio.gather(*lanes)
        at_end = sampler.now()
        await asyncio.sleep(2)  # the last uploads' events reach the streams
        leave.set()
        await asyncio.gather(*live)
    return tallies, pages, uploaded, at_end


async def settle(sampler: ProcessSampler, base: Fds, limit_s: float) -> tuple[float, float]:
    """Seconds until the descriptors other than database connections are back to `base`,
    then until all are (the pool closes idle connections above its minimum after 300 s);
    each gives up at `limit_s` from the start."""
    loop = asyncio.get_running_loop()
    start, first = loop.time(), float("nan")
    while loop.time() - start < limit_s:
        now = sampler.fds()
        if math.isnan(first) and now.total - now.sockets <= base.total - base.sockets:
            first = loop.time() - start
        if now.total <= base.total:
            return first, loop.time() - start
        await asyncio.sleep(SETTLE_POLL_S)
    return first, float("nan")


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="vr-bench-load-"))
    try:
        async with fresh_database() as url:
            job = await seed_job(url, work / "data", args.outputs, args.output_mib * MIB)
            users = await seed_users(url, args.users, "load")
            body = video_bytes(args.upload_mib * MIB)
            async with running_serve(url, work / "data", role="api") as served:
                return await measure(args, url, served, job, users, body)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def measure(
    args: argparse.Namespace,
    url: str,
    served: Served,
    job: tuple[uuid.UUID, str],
    users: Users,
    body: bytes,
) -> int:
    load_before = load_average()
    sampler = ProcessSampler(served.pid, served.port)
    cold = sampler.fds()
    target = await warm_up(served, job, users, body)
    await asyncio.sleep(2)
    rss0, base = sampler.now()[0], sampler.fds()
    bench = psutil.Process()
    cpu0 = sampler.cpu_s(), sum(bench.cpu_times()[:2])
    started = time.monotonic()
    stop = asyncio.Event()
    lag: list[float] = []
    held: list[float] = []
    slow: Counter[str] = Counter()
    crowd_gone = asyncio.Event()
    tasks = [asyncio.create_task(sampler.run(stop)), asyncio.create_task(own_lag(lag, crowd_gone)),
             asyncio.create_task(open_transactions(url, held, slow, crowd_gone))]  # fmt: skip
    tallies, pages, uploaded, (rss_end, fds_end) = await crowd(args, target, users, sampler)
    cpu = sampler.cpu_s() - cpu0[0], sum(bench.cpu_times()[:2]) - cpu0[1]
    took = time.monotonic() - started
    crowd_gone.set()
    back, all_back = await settle(sampler, base, args.settle_s)
    rss_after, after = sampler.now()[0], sampler.fds()
    stop.set()
    await asyncio.gather(*tasks)
    peak_rss, peak_fds = sampler.peak()
    exact, problems = stream_check(pages, uploaded)
    log = (await asyncio.to_thread(served.log.read_text, errors="replace")).splitlines()

    print(f"Load benchmark on {server_label()}: {args.seconds:g} s; {args.downloads} download "
          f"lanes every {args.download_every:g} s ({len(target.archive) / MIB:.1f} MiB ZIP, "
          f"every {RESUME_EVERY}th a resume), {args.uploads} upload lanes every "
          f"{args.upload_every:g} s ({args.upload_mib} MiB), {args.streams} live streams "
          f"(reopened every {args.stream_s:g} s) and job-list polls every "
          f"{args.poll_every:g} s, {args.users} users")  # fmt: skip
    print(f"  {'kind':18} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, tally in tallies.items():
        ms = [x * 1000 for x in tally.latencies]
        print(f"  {kind:18} {tally.requests:8d} {tally.errors.total():6d} {pct(ms, 0.5):8.1f} "
              f"{pct(ms, 0.99):8.1f} {max(ms, default=float('nan')):8.1f}"
              + (f"  {dict(tally.errors)}" if tally.errors else ""))  # fmt: skip
    jobs = sum(len(v) for v in uploaded.values())
    print(f"  streams exact: {exact}/{len(pages)} told of each of their owner's {jobs} new jobs "
          f"once, no id repeated across reconnects")  # fmt: skip
    for line in problems[:5]:
        print(f"    ! {line}")
    print(f"  server RSS: baseline {rss0 / MIB:.1f} MiB, peak {peak_rss / MIB:.1f}, end of load "
          f"{rss_end / MIB:.1f}, after the clients left {rss_after / MIB:.1f} "
          f"({(rss_after - rss0) / MIB:+.1f} MiB; target within {RSS_TARGET // MIB})")  # fmt: skip
    print(f"  server RSS every 10 s (MiB): {' '.join(f'{r / MIB:.0f}' for r in sampler.every(10))}")
    print(f"  server fds: cold {cold}; baseline {base}; peak {peak_fds}, end of load {fds_end}; "
          f"after the clients left {after}")  # fmt: skip
    print(f"  back to the baseline: all but database connections after {back:.1f} s, all after "
          f"{all_back:.1f} s (nan: not within --settle-s {args.settle_s:g})")  # fmt: skip
    print(f"  CPU over the crowd's {took:.0f} s: "
          f"server {cpu[0]:.1f} s, the bench's clients {cpu[1]:.1f} s; "
          f"bench loop lag p99 {pct(lag, 0.99) * 1000:.1f} ms")  # fmt: skip
    open_share = sum(1 for h in held if h > 0) / max(len(held), 1)
    print(f"  server transactions holding an xid (every {HELD_POLL_S:g} s): one open in "
          f"{open_share:.0%} of the samples, the oldest p99 {pct(held, 0.99) * 1000:.0f} ms, "
          f"max {max(held, default=0) * 1000:.0f} ms (log readers wait behind them)")  # fmt: skip
    for statement, count in slow.most_common(3):
        print(f"    {count} samples older than {SLOW_HOLDER_S * 1000:.0f} ms after {statement}")
    noisy = [
        line for line in log if " WARNING " in line or " ERROR " in line or "Traceback" in line
    ]
    print(f"  server log: {len(log)} lines, {len(noisy)} warnings or errors")
    for line in noisy[:5]:
        print(f"    {line[:200]}")
    print(f"  load average before {load_before}, after {load_average()}")
    return verdict(tallies, exact, len(pages), rss_after - rss0, base, after)


def verdict(tallies: dict[str, Tally], exact: int, pages: int, growth: int, base: Fds,
            after: Fds) -> int:  # fmt: skip
    errors = sum(t.errors.total() for t in tallies.values()) + (pages - exact)
    checks = {
        "0 errors": errors == 0,
        "RSS within 32 MiB of the baseline": growth <= RSS_TARGET,
        "fds back to the baseline, database connections aside": (
            after.total - after.sockets <= base.total - base.sockets
        ),
        "database connections above the baseline within the pool's idle allowance": (
            after.sockets - base.sockets <= POOL_MAX - POOL_MIN
        ),
    }
    for name, ok in checks.items():
        print(f"  target {name}: {'met' if ok else 'NOT MET'}")
    return 0 if all(checks.values()) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--downloads", type=int, default=50, help="download lanes")
    parser.add_argument("--download-every", type=float, default=5)
    parser.add_argument("--outputs", type=int, default=8, help="outputs of the job (4 folders)")
    parser.add_argument("--output-mib", type=int, default=1)
    parser.add_argument("--uploads", type=int, default=10, help="upload lanes")
    parser.add_argument("--upload-every", type=float, default=2)
    parser.add_argument("--upload-mib", type=int, default=1)
    parser.add_argument("--streams", type=int, default=100, help="pages: a stream and polls each")
    parser.add_argument("--stream-s", type=float, default=20, help="reopen a stream this often")
    parser.add_argument("--poll-every", type=float, default=5)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--settle-s", type=float, default=30)
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
