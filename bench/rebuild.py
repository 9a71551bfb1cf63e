"""The admin rebuild of the job view while the service serves reads of it.

    .venv/bin/python bench/rebuild.py [--jobs 20000] [--readers 4] [--read-rate 100]
                                      [--append-rate 20]

Seeds `--jobs` full job histories of 10 events each (intake, claim, 4 renders, finish,
purge; then, as a day later, expiry and output deletion), starts `serve` (role `api`:
HTTP plus the live job-view runner) on the same database, and runs
`video-refresher projections rebuild job_view` as an operator would, while `--readers`
clients GET random jobs, `--read-rate` per second in all (0: each as fast as the server
answers), and a writer appends new jobs at `--append-rate` per second. Printed: events/s
and wall time of the rebuild, how long the swap held the live runner, the readers' rate
and latency (p50, p99, max) during the rebuild, and any read that was not a whole job.
Afterwards `audit verify` checks the new view against a fresh replay of the log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import fresh_database, server_label  # noqa: E402
from service.accounts import passwords, tokens, users  # noqa: E402
from service.events.base import Event, NewEvent  # noqa: E402
from service.events.job import (  # noqa: E402
    OutputsDeleted,
    PurgedFile,
    UploadsPurged,
    job_stream,
)
from service.events.store import ANY, NO_STREAM, EventStore  # noqa: E402
from tests.builders import (  # noqa: E402
    T0,
    expired,
    processing_finished,
    processing_started,
    upload_received,
    variation_rendered,
)

SEED_WRITERS = 4


def first_events(owner: uuid.UUID) -> list[Event]:
    """A job from intake to the purge of its uploads: 8 events."""
    created = upload_received(owner_id=owner, names=("a.mp4", "b.mov"), variations=2)
    job = created.job_id
    renders = [variation_rendered(job, f.file_id, i) for f in created.files for i in (1, 2)]
    purged = UploadsPurged(
        job_id=job,
        files=tuple(
            PurgedFile(file_id=f.file_id, path=f.path, bytes=f.size) for f in created.files
        ),
        bytes_freed=sum(f.size for f in created.files),
        purged_at=T0,
    )
    return [created, processing_started(job), *renders, processing_finished(job), purged]


def last_events(job: uuid.UUID) -> list[Event]:
    """A day later: expiry and the deletion of the outputs."""
    return [expired(job), OutputsDeleted(job_id=job, files=4, bytes_freed=400, deleted_at=T0)]


async def seed(url: str, jobs: int, owner: uuid.UUID) -> list[uuid.UUID]:
    """Append the histories: every job's first 8 events, then every job's last 2, so the
    log interleaves streams as a real one does. Commits skip the fsync wait (seeding only)."""
    pool = await asyncpg.create_pool(
        url, min_size=SEED_WRITERS, max_size=SEED_WRITERS,
        server_settings={"synchronous_commit": "off"},
    )  # fmt: skip
    store = EventStore(pool)
    ids: list[uuid.UUID] = []

    async def first(count: int) -> None:
        for _ in range(count):
            events = first_events(owner)
            job = events[0].job_id  # type: ignore[attr-defined]
            await store.append(job_stream(job), [NewEvent.of(e) for e in events], NO_STREAM)
            ids.append(job)

    async def last(chunk: list[uuid.UUID]) -> None:
        for job in chunk:
            await store.append(job_stream(job), [NewEvent.of(e) for e in last_events(job)], 8)

    share = jobs // SEED_WRITERS
    await asyncio.gather(*(first(share) for _ in range(SEED_WRITERS)))
    await asyncio.gather(*(last(ids[n::SEED_WRITERS]) for n in range(SEED_WRITERS)))
    await pool.close()
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_caught_up(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{base}/readyz") as response:
                body = await response.json()
                if response.status == 200 and body["projections"]["job_view"]["lag_events"] == 0:
                    return
        except (aiohttp.ClientError, KeyError):
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the live job view never caught up")


class Readers:
    """Clients reading random jobs through the API; each answer must be a whole job."""

    def __init__(self, base: str, token: str, ids: list[uuid.UUID], interval_s: float) -> None:
        self._base, self._ids, self._interval_s = base, ids, interval_s
        self._headers = {"Authorization": f"Bearer {token}"}
        self.latencies: list[float] = []
        self.bad: list[str] = []
        self.recording = False
        self._stop = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession) -> None:
        """One client: a read every `interval_s` (0: as soon as the last one answered)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self._stop.is_set():
            due += self._interval_s
            await asyncio.sleep(max(0.0, due - loop.time()))
            job = random.choice(self._ids)
            started = time.perf_counter()
            async with session.get(f"{self._base}/api/jobs/{job}", headers=self._headers) as r:
                body = await r.json()
            elapsed = time.perf_counter() - started
            if not self.recording:
                continue
            self.latencies.append(elapsed)
            complete = (
                r.status == 200
                and body.get("job_id") == str(job)
                and body.get("status") == "expired"
                and len(body.get("files", [])) == 2
                and len(body.get("outputs", [])) == 4
            )
            if not complete:
                self.bad.append(f"{r.status} {str(body)[:200]}")

    def stop(self) -> None:
        self._stop.set()


async def trickle(store: EventStore, rate: float, owner: uuid.UUID, stop: asyncio.Event) -> int:
    """New jobs arriving while the rebuild runs (intake, then claim): what catch-up is for."""
    appended = 0
    while rate > 0 and not stop.is_set():
        events = first_events(owner)[:2]
        job = events[0].job_id  # type: ignore[attr-defined]
        await store.append(job_stream(job), [NewEvent.of(events[0])], NO_STREAM)
        await store.append(job_stream(job), [NewEvent.of(events[1])], ANY)
        appended += 2
        await asyncio.sleep(1 / rate)
    return appended


async def run_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`video-refresher ARGS` as an operator runs it, in its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Outcome:
    rebuild: subprocess.CompletedProcess[str]
    wall_s: float
    appended: int
    readers: Readers
    load_before: str
    load_after: str
    rebuild_cpu_s: float  # the rebuild process, user + system
    serve_cpu_s: float  # the service during the rebuild
    verify: subprocess.CompletedProcess[str]


async def run(args: argparse.Namespace) -> None:
    async with fresh_database() as url:
        pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
        try:
            now = datetime.now(UTC)
            admin = await users.create_user(
                pool, "bench", await passwords.hash_password("pw"), is_admin=True, now=now
            )
            token, _ = await tokens.issue(pool, admin.id, now=now, ttl_s=7200)
            started = time.perf_counter()
            ids = await seed(url, args.jobs, admin.id)
            events = await pool.fetchval("SELECT count(*) FROM events")
            print(f"Rebuild benchmark on {server_label()}")
            seeded_s = time.perf_counter() - started
            print(f"  seeded {len(ids):,} jobs, {events:,} events in {seeded_s:.0f} s")
            outcome = await measure(args, url, pool, admin.id, token, ids)
        finally:
            await pool.close()
    show(outcome)


async def measure(
    args: argparse.Namespace,
    url: str,
    pool: asyncpg.Pool,
    owner: uuid.UUID,
    token: str,
    ids: list[uuid.UUID],
) -> Outcome:
    """Serve, read, write, and rebuild meanwhile; then verify."""
    data_dir = Path(tempfile.mkdtemp(prefix="vr-bench-rebuild-"))
    port = free_port()
    env = {**os.environ, "VR_DATABASE_URL": url, "VR_DATA_DIR": str(data_dir),
           "VR_PORT": str(port), "VR_ROLE": "api", "VR_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve", env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        connector = aiohttp.TCPConnector(limit=args.readers)
        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.perf_counter()
            await wait_caught_up(session, base)
            print(f"  live job view caught up in {time.perf_counter() - started:.0f} s")
            interval_s = args.readers / args.read_rate if args.read_rate > 0 else 0.0
            readers = Readers(base, token, ids, interval_s)
            reading = [asyncio.create_task(readers.run(session)) for _ in range(args.readers)]
            stop_writes = asyncio.Event()
            writing = asyncio.create_task(
                trickle(EventStore(pool), args.append_rate, owner, stop_writes)
            )
            await asyncio.sleep(1)  # readers warm up
            load_before = load_average()
            serving = psutil.Process(service.pid)
            serve_cpu = sum(serving.cpu_times()[:2])
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            readers.recording = True
            started = time.perf_counter()
            rebuilt = await run_command(env, "projections", "rebuild", "job_view")
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            rebuild_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
            serve_cpu = sum(serving.cpu_times()[:2]) - serve_cpu
            readers.recording = False
            load_after = load_average()
            stop_writes.set()
            appended = await writing
            readers.stop()
            await asyncio.gather(*reading)
            if rebuilt.returncode != 0:
                raise RuntimeError(f"rebuild failed: {rebuilt.stderr}")
            await wait_caught_up(session, base)
        verify = await run_command(env, "audit", "verify")
    finally:
        service.terminate()
        await asyncio.wait_for(service.wait(), 60)
        shutil.rmtree(data_dir, ignore_errors=True)
    return Outcome(
        rebuilt, wall, appended, readers, load_before, load_after, rebuild_cpu, serve_cpu, verify
    )


def show(outcome: Outcome) -> None:
    summary = outcome.rebuild.stdout.strip().splitlines()[-1]
    rate = re.search(r"([\d,]+) events/s", summary)
    latencies = sorted(outcome.readers.latencies)
    print(f"  {summary}")
    print(f"  rebuild rate                     {rate.group(1) if rate else '?'} events/s")
    print(f"  command wall time                {outcome.wall_s:.1f} s (with process start)")
    print(f"  appended during the rebuild      {outcome.appended} events")
    if latencies:
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
        per_s = len(latencies) / outcome.wall_s
        print(
            f"  reads during the rebuild         {len(latencies):,} ({per_s:,.0f}/s);"
            f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
        )
    print(f"  reads that were not a whole job  {len(outcome.readers.bad)}")
    for bad in outcome.readers.bad[:5]:
        print(f"    {bad}")
    print(
        f"  CPU during the rebuild           rebuild process {outcome.rebuild_cpu_s:.1f} s,"
        f" serve {outcome.serve_cpu_s:.1f} s (2 cores x {outcome.wall_s:.1f} s wall)"
    )
    print(f"  load average before / after      {outcome.load_before} / {outcome.load_after}")
    verify = outcome.verify
    verdict = verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr
    print(f"  audit verify afterwards          exit {verify.returncode}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--readers", type=int, default=4, help="concurrent reading clients")
    parser.add_argument(
        "--read-rate", type=float, default=100, help="reads per second in all; 0: as fast as served"
    )
    parser.add_argument("--append-rate", type=float, default=20, help="new jobs per second")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
