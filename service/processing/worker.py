"""The worker: follows the log (through the job view) and renders jobs nobody holds.

It wakes when this process's job view moves, on a NOTIFY (for a view fed by another
process), a poll interval or a stop. Each round it looks at jobs that are received, or
processing with no live lease (their worker died), takes a job's lease (a session
advisory lock on this worker's own connection) and claims the job by appending
`ProcessingStarted` at the version it read: losing that race means another worker has
it. Any number of workers may run, in any number of processes.

If the lease connection dies, every job it covered is cancelled at once (ffmpeg is
killed, partial files removed): another worker may already be reclaiming them.

Every wake also looks in the log for a `CancellationRequested` of a job in hand (a NOTIFY
follows each append, so within moments of it); that job's attempt is told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from service.clock import Clock
from service.db.database import Database, process_name
from service.db.unavailable import is_database_down
from service.errors import ConfigurationError, WrongExpectedVersion
from service.events.notify import listen, wait_for_wake
from service.events.store import EventStore
from service.processing.cancel import cancelled_jobs
from service.processing.claim import Claim, claim_job
from service.processing.ffmpeg_binary import locate_ffmpeg
from service.processing.job_runner import AttemptFenced, JobRunner, RenderSettings
from service.processing.leases import JobLeases
from service.processing.progress import ProgressPublisher
from service.processing.scratch import Scratch
from service.projections.job_queries import JobQueries
from service.projections.runner import RECONNECT_DELAY_S
from service.storage.interface import ObjectStorage

log = logging.getLogger(__name__)

NAME = "worker"
CLAIM_LOOKAHEAD = 10
"""Received jobs looked at beyond the free slots: others may be taking the oldest ones."""

_CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
)


def default_concurrency(cores: int | None) -> int:
    """Renders at once when none is configured: one per core, each with one thread.

    Measured on 2 idle cores: on small clips (bench/render.py, 15 renders of 5 s at
    640x360) two one-thread renders at once finish the job in 5.1 s where one render at
    a time with ffmpeg's threads takes 7.5 s, since one small render cannot keep two
    cores busy; on long 1080p and 720p renders (bench/render.py pipelines) one at a time
    is 3-4 % faster (two encoders share the cores' caches). The large gain wins."""
    return max(1, cores or 1)


def ffmpeg_threads(configured: int | None, concurrency: int) -> int | None:
    """One render at a time: let ffmpeg use every core. Several: share the cores out."""
    if configured is not None:
        return configured
    if concurrency == 1:
        return None
    return max(1, (os.cpu_count() or 1) // concurrency)


class Worker:
    """A component: runs up to `concurrency` renders at once, of up to that many jobs
    (one job's variations fill the free render slots too)."""

    name = NAME

    def __init__(
        self,
        *,
        store: EventStore,
        database: Database,
        jobs: JobQueries,
        clock: Clock,
        storage: ObjectStorage,
        scratch_dir: Path,
        ffmpeg_path: str | None = None,
        concurrency: int | None = None,
        threads: int | None = None,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._store = store
        self._database = database
        self._jobs = jobs
        self._clock = clock
        self._storage = storage
        self._scratch = Scratch(scratch_dir)
        self._ffmpeg_path = ffmpeg_path
        self._concurrency = concurrency or default_concurrency(os.cpu_count())
        self._threads = ffmpeg_threads(threads, self._concurrency)
        self._poll_interval_s = poll_interval_s
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._cancels: dict[uuid.UUID, asyncio.Event] = {}
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._problem: str | None = None
        self.worker_id = process_name()

    def wake(self) -> None:
        """Look for work now (the job view has just moved)."""
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more; jobs in hand run to their end (or until cancelled)."""
        self._stopping.set()
        self._wake.set()

    def readiness(self) -> dict[str, Any]:
        return {
            "ok": self._problem is None,
            "jobs": sorted(str(job_id) for job_id in self._running),
            **({"error": self._problem} if self._problem else {}),
        }

    async def run(self) -> None:
        try:
            ffmpeg = await asyncio.to_thread(locate_ffmpeg, self._ffmpeg_path)
        except ConfigurationError as exc:
            self._problem = exc.message
            log.error("worker cannot start: %s", exc.message, extra={"action": "worker.no_ffmpeg"})
            return
        await asyncio.to_thread(self._scratch.reclaim)
        progress = ProgressPublisher(self._database.pool)
        runner = JobRunner(
            self._store,
            self._storage,
            RenderSettings(ffmpeg, self._scratch, self._threads, self.worker_id),
            self._clock,
            slots=asyncio.Semaphore(self._concurrency),
            progress=progress.publish,
        )
        try:
            await self._work(runner)
        finally:
            await progress.close()

    async def _work(self, runner: JobRunner) -> None:
        while not self._stopping.is_set():
            try:
                conn = await self._database.connect()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("worker cannot connect: %s", exc, extra={"action": "worker.connect"})
                await self._sleep(RECONNECT_DELAY_S)
                continue
            leases = JobLeases(conn)
            conn.add_termination_listener(lambda _conn: self._wake.set())
            stopped_cleanly = False
            try:
                await listen(conn, self._wake)
                await self._serve(leases, runner)
                stopped_cleanly = leases.alive
            except _CONNECTION_ERRORS as exc:
                log.warning(
                    "worker lost its connection: %s",
                    exc,
                    extra={"action": "worker.connection_lost"},
                )
            except Exception:
                # asyncpg may report a connection the server ended as a protocol error.
                log.exception(
                    "worker's lease connection failed; reconnecting",
                    extra={"action": "worker.connection_failed"},
                )
            finally:
                # Leaving this connection gives up its leases: unless this is a clean
                # stop, the jobs in hand must stop now, as another worker may reclaim them.
                await self._drain(cancel=not stopped_cleanly)
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
            if not self._stopping.is_set():
                await self._sleep(RECONNECT_DELAY_S)

    async def _serve(self, leases: JobLeases, runner: JobRunner) -> None:
        while not self._stopping.is_set() and leases.alive:
            await leases.check()
            try:
                await self._stop_cancelled()
                await self._claim_round(leases, runner)
            except Exception as exc:
                if not leases.alive:
                    raise  # reconnect: the jobs in hand are cancelled first
                # Anything else (the pool, a bug) must not end the worker, only delay it.
                if is_database_down(exc):
                    log.warning("worker round stopped: database unavailable: %r", exc,
                                extra={"action": "worker.database_unavailable"})  # fmt: skip
                else:
                    log.exception("worker round failed; retrying",
                                  extra={"action": "worker.failed"})  # fmt: skip
            await self._sleep(self._poll_interval_s)

    async def _claim_round(self, leases: JobLeases, runner: JobRunner) -> None:
        free = self._concurrency - len(self._running)
        if free <= 0:
            return
        for job_id in await self._jobs.claimable(received_limit=free + CLAIM_LOOKAHEAD):
            if free <= 0 or self._stopping.is_set():
                return
            if job_id in self._running or not await leases.try_take(job_id):
                continue
            try:
                claim = await claim_job(
                    self._store, job_id, worker=self.worker_id, now=self._clock.now()
                )
            except WrongExpectedVersion:
                claim = None  # another writer moved the job first
            except BaseException:
                await asyncio.shield(leases.give_back(job_id))
                raise
            if claim is None:
                await leases.give_back(job_id)
                continue
            log.info(
                "claimed job %s (attempt %d)",
                job_id,
                claim.attempt,
                extra={"action": "worker.claimed"},
            )
            self._cancels[job_id] = asyncio.Event()
            task = asyncio.create_task(self._render(leases, runner, claim), name=f"job {job_id}")
            self._running[job_id] = task
            task.add_done_callback(lambda _t, j=job_id: self._finished(j))
            free -= 1

    async def _render(self, leases: JobLeases, runner: JobRunner, claim: Claim) -> None:
        job_id = claim.job.job_id
        try:
            await runner.run(claim, self._cancels[job_id])
        except AttemptFenced:
            pass
        except asyncio.CancelledError:
            log.warning(
                "job %s interrupted (attempt %d); it will be reclaimed",
                job_id,
                claim.attempt,
                extra={"action": "worker.interrupted"},
            )
            raise
        except Exception:
            log.exception(
                "job %s failed unexpectedly (attempt %d); it will be reclaimed",
                job_id,
                claim.attempt,
                extra={"action": "worker.job_crashed"},
            )
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(leases.give_back(job_id))

    async def _stop_cancelled(self) -> None:
        """Tell the attempts of jobs whose cancel the log now records to stop."""
        watched = [j for j, e in self._cancels.items() if not e.is_set()]
        if not watched:
            return
        for job_id in await cancelled_jobs(self._database.pool, watched):
            if (event := self._cancels.get(job_id)) is not None and not event.is_set():
                log.info("job %s: cancel requested; stopping it", job_id,
                         extra={"action": "worker.cancelling"})  # fmt: skip
                event.set()

    def _finished(self, job_id: uuid.UUID) -> None:
        self._running.pop(job_id, None)
        self._cancels.pop(job_id, None)
        self._wake.set()  # a free slot: look for more work now

    async def _drain(self, *, cancel: bool) -> None:
        """Wait for the jobs in hand; cancel them when the lease is gone or we are cancelled."""
        tasks = list(self._running.values())
        if not tasks:
            return
        if cancel:
            for task in tasks:
                task.cancel()
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _sleep(self, seconds: float) -> None:
        """Wait for a NOTIFY, the poll interval or a stop, whichever comes first."""
        await wait_for_wake(self._wake, seconds)
