"""Rebuild the job view from position zero while the live one keeps serving.

1. prepare: a fresh shadow table shaped like the live one (`LIKE … INCLUDING ALL`).
2. replay: fold every job stream up to the log's head, taken now, and COPY the rows in.
3. catch up: apply what was appended meanwhile, in commit order, with the live
   projection's own handler pointed at the shadow, until the shadow is at the head.
4. swap: one short transaction that locks the subscription's checkpoint row (the live
   runner's next batch waits on it), applies the events up to the live checkpoint,
   replaces the live table by the shadow and moves the checkpoint forward if the shadow
   is ahead of it.

Readers see the complete old table until the swap commits, then the complete new one.
The rebuild only reads the log, so appends never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg

from service.db.database import Database
from service.errors import RebuildFailed, RebuildInProgress, UnknownProjection
from service.events.by_stream import count_upto
from service.events.codec import collector_paused
from service.events.job import STREAM_PREFIX
from service.events.log_reader import PAGE_SIZE, Checkpoint, events_behind, head, read_page
from service.projections import checkpoints, job_view
from service.projections.replay import replay_jobs
from service.projections.swap import replace_table

log = logging.getLogger(__name__)

REBUILDABLE = (job_view.NAME,)  # reactors are subscriptions too, but their effects are files
LIVE, SHADOW = "job_view", "job_view_shadow"
COPY_ROWS = 2000  # rows per COPY: one in flight while the next batch is folded
SWAP_LOCK_TIMEOUT_MS = 2000  # a reader stuck on the table must not pause the runner for long
SWAP_ATTEMPTS = 5  # each failed attempt catches up again before retrying

Progress = Callable[[int, int], None]  # (events done, events in total so far); called often


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild did, for the command's summary line and for tests."""

    name: str
    events: int  # folded into the shadow: replay, catch-up and the swap's last events
    jobs: int  # rows in the new live table
    seconds: float
    swap_ms: float  # how long the checkpoint row (and so the live runner) was held
    checkpoint: Checkpoint


def check_rebuildable(name: str) -> None:
    if name not in REBUILDABLE:
        raise UnknownProjection(name, list(REBUILDABLE))


@contextlib.asynccontextmanager
async def exclusive_rebuild(database: Database, name: str) -> AsyncIterator[asyncpg.Connection]:
    """A dedicated connection holding the rebuild's own lock: one rebuild per projection.

    A session lock, so it goes with the connection if the process dies; it is not the
    runner's lock, which the live runner holds for its whole life.
    """
    conn = await database.connect()
    try:
        key = "hashtextextended('vr-rebuild:' || $1, 0)"
        if not await conn.fetchval(f"SELECT pg_try_advisory_lock({key})", name):
            raise RebuildInProgress(name)
        yield conn
    finally:
        await asyncio.shield(conn.close())


async def rebuild(
    database: Database,
    name: str,
    *,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> RebuildReport:
    """Rebuild the projection `name` from the log and swap it in; see the module doc."""
    check_rebuildable(name)
    async with exclusive_rebuild(database, name) as reader, database.pool.acquire() as writer:
        return await JobViewRebuild(reader, writer, progress=progress, page_size=page_size).run()


class JobViewRebuild:
    """The four steps, separately callable so tests can interleave other work with them.

    `reader` pages through the log while `writer` loads the shadow: a COPY is in flight
    while the next rows are folded.
    """

    def __init__(
        self,
        reader: asyncpg.Connection,
        writer: asyncpg.Connection,
        *,
        progress: Progress | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._progress = progress or (lambda done, total: None)
        self._page_size = page_size
        self._handler = job_view.JobViewProjection(SHADOW)
        self.checkpoint = Checkpoint()  # what the shadow holds: everything up to here
        self.done = 0
        self.total = 0
        self._started = time.perf_counter()

    async def run(self) -> RebuildReport:
        try:
            await self.prepare()
            await self.replay()
            await self.catch_up()
            return await self.swap()
        except BaseException:
            # The live table is untouched; only the half-built shadow goes. A killed process
            # leaves it behind, and the next rebuild's `prepare` drops it.
            with contextlib.suppress(Exception):
                await self._writer.execute(f"DROP TABLE IF EXISTS {SHADOW}")
            raise

    async def prepare(self) -> None:
        """An empty shadow with the live table's columns, defaults, constraints, indexes."""
        self._started = time.perf_counter()
        await checkpoints.load(self._writer, job_view.NAME)  # the swap locks this row
        await self._writer.execute(
            f"DROP TABLE IF EXISTS {SHADOW}; CREATE TABLE {SHADOW} (LIKE {LIVE} INCLUDING ALL)"
        )

    async def replay(self) -> None:
        """Fold every job stream up to the head into the shadow."""
        upto = await head(self._reader)
        self.total = await count_upto(self._reader, upto, prefix=STREAM_PREFIX)
        log.info(
            "rebuilding %s: replaying %d events",
            job_view.NAME,
            self.total,
            extra={"action": "rebuild.replay"},
        )
        with collector_paused():
            await self._replay_into_shadow(upto)
        self.checkpoint = upto
        self._progress(self.done, self.total)

    async def _replay_into_shadow(self, upto: Checkpoint) -> None:
        rows: list[job_view.JobViewRow] = []
        copying: asyncio.Future[str] | None = None
        try:
            async for job in replay_jobs(self._reader, upto, page_size=self._page_size):
                self.done += job.events
                self._progress(self.done, self.total)
                if job.state is not None:
                    rows.append(job_view.row_of(job.state))
                if len(rows) >= COPY_ROWS:
                    if copying is not None:
                        await copying
                    copying = asyncio.ensure_future(self._copy(rows))
                    rows = []
            if copying is not None:
                await copying
                copying = None
            if rows:
                await self._copy(rows)
        finally:
            if copying is not None:
                copying.cancel()
                with contextlib.suppress(BaseException):
                    await copying

    async def _copy(self, rows: list[job_view.JobViewRow]) -> str:
        return await self._writer.copy_records_to_table(
            SHADOW, records=rows, columns=job_view.COLUMNS
        )

    async def catch_up(self) -> None:
        """Apply what was appended since the replay's head until the shadow is at the head."""
        self.total = self.done + await events_behind(self._reader, self.checkpoint)
        while True:
            events = await read_page(self._reader, self.checkpoint, self._page_size)
            if not events:
                break
            async with self._writer.transaction():
                await self._handler.handle(self._writer, events)
            self.checkpoint = Checkpoint.of(events[-1])
            self.done += len(events)
            self.total = max(self.total, self.done)
            self._progress(self.done, self.total)
            if len(events) < self._page_size:
                break
        await self._writer.execute(f"ANALYZE {SHADOW}")  # the planner's statistics move with it

    async def swap(self) -> RebuildReport:
        """Replace the live table by the shadow; retried if readers hold the table too long."""
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                swapped, held_s = await self._swap_once()
            except asyncpg.LockNotAvailableError:
                log.warning(
                    "rebuild of %s: could not lock %s within %d ms (attempt %d)",
                    job_view.NAME,
                    LIVE,
                    SWAP_LOCK_TIMEOUT_MS,
                    attempt,
                    extra={"action": "rebuild.swap_retry"},
                )
                await self.catch_up()
                continue
            self.checkpoint = swapped
            jobs = await self._writer.fetchval(f"SELECT count(*) FROM {LIVE}")
            report = RebuildReport(
                name=job_view.NAME,
                events=self.done,
                jobs=jobs,
                seconds=time.perf_counter() - self._started,
                swap_ms=held_s * 1000,
                checkpoint=swapped,
            )
            log.info(
                "rebuilt %s: %d events, %d jobs in %.1f s; swap held the runner %.1f ms",
                report.name,
                report.events,
                report.jobs,
                report.seconds,
                report.swap_ms,
                extra={"action": "rebuild.swapped"},
            )
            return report
        raise RebuildFailed(job_view.NAME, f"{LIVE} stayed locked by readers; try again")

    async def _swap_once(self) -> tuple[Checkpoint, float]:
        conn = self._writer
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = {SWAP_LOCK_TIMEOUT_MS}")
            live = await checkpoints.lock(conn, job_view.NAME)  # the runner pauses here
            started = time.perf_counter()
            mine, applied = await self._apply_up_to(live)
            await replace_table(conn, LIVE, SHADOW)
            if live < mine:
                await checkpoints.store(conn, job_view.NAME, mine)  # the runner re-reads from it
        self.done += applied
        self._progress(self.done, self.total)
        return max(live, mine), time.perf_counter() - started

    async def _apply_up_to(self, live: Checkpoint) -> tuple[Checkpoint, int]:
        """Fold into the shadow the events the live view has and the shadow lacks."""
        mine, applied = self.checkpoint, 0
        while mine < live:
            page = await read_page(self._writer, mine, self._page_size)
            events = [e for e in page if Checkpoint.of(e) <= live]
            if not events:
                break
            await self._handler.handle(self._writer, events)
            mine = Checkpoint.of(events[-1])
            applied += len(events)
        return mine, applied
