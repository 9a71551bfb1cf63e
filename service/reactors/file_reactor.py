"""A reactor that answers an event by deleting a job's files, then recording that it did.

At-least-once delivery, exactly-once effect: deletion is idempotent (a missing file is
already deleted), the answering event's id is derived from its cause's id, and its
payload comes only from the log (recorded sizes, the cause's time), so a retry after a
crash appends byte-for-byte the same event, which the store turns into a no-op.

A file that cannot be deleted must neither hold back the checkpoint nor other jobs: the
subscription hands the job to a retry queue and moves on. The queue retries in the
background; a sweep of the job view (at activation, then periodically) re-finds every
job still owed its deletion, which covers restarts, crashes and a full queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from service.db.database import Database
from service.errors import DuplicateEventId
from service.events.base import Event, EventMetadata, NewEvent, RecordedEvent
from service.events.job import job_id_of, job_stream
from service.events.notify import wait_for_wake
from service.events.store import ANY, EventStore
from service.projections.job_state import JobState, fold
from service.projections.runner import SubscriptionRunner
from service.reactors.deletion import FailedFile, RecordedFile, delete_job_objects
from service.reactors.retry import RetryQueue
from service.storage.interface import ObjectStorage

log = logging.getLogger(__name__)

# Answering events' ids are uuid5(ANSWER_NAMESPACE, "<cause event id>:<purpose>").
ANSWER_NAMESPACE = uuid.UUID("5f0c1f6e-2b7a-4d1e-9a43-7c2e8f4b9d10")
SWEEP_INTERVAL_S = 60.0  # re-find owed jobs this often: covers a full queue and view lag


def answer_id(cause_event_id: uuid.UUID, purpose: str) -> uuid.UUID:
    return uuid.uuid5(ANSWER_NAMESPACE, f"{cause_event_id}:{purpose}")


class Cleanup(Protocol):
    """What one reactor deletes, in answer to what, and how it records it."""

    name: str  # the subscription's name
    cause_type: str  # the event type that triggers the deletion
    purpose: str  # names the answer in its deterministic id
    sweep_sql: str  # job ids still owed the deletion, oldest first; $1 is a limit

    def sweeps(self, state: JobState) -> list[tuple[str, frozenset[str]]]:
        """The job's key prefixes to empty, each with the keys under it to keep. The first
        prefix is the one every recorded file must lie under."""

    def is_done(self, state: JobState) -> bool: ...

    def files(self, state: JobState) -> list[RecordedFile]: ...

    def answer(self, state: JobState, cause: RecordedEvent, refused: set[str]) -> Event:
        """The answering event; a pure function of the log (and of refused paths)."""


class FileReactor:
    """A component: the named subscription plus the background retries and sweeps."""

    def __init__(
        self,
        cleanup: Cleanup,
        *,
        store: EventStore,
        database: Database,
        storage: ObjectStorage,
        poll_interval_s: float = 1.0,
        retry: RetryQueue | None = None,
        sweep_interval_s: float = SWEEP_INTERVAL_S,
    ) -> None:
        self.name = cleanup.name
        self._cleanup = cleanup
        self._store = store
        self._database = database
        self._storage = storage
        self._poll_interval_s = poll_interval_s
        self._sweep_interval_s = sweep_interval_s
        self.retry = retry if retry is not None else RetryQueue()
        self.runner = SubscriptionRunner(
            cleanup.name, self, database, poll_interval_s=poll_interval_s
        )
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    # --- the subscription --------------------------------------------------------------

    async def handle(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        """Delete for each cause in the batch; failures go to the retry queue, not up."""
        for recorded in events:
            job_id = job_id_of(recorded.stream_id)
            if recorded.type == self._cleanup.cause_type and job_id is not None:
                await self.settle(job_id)

    async def settle(self, job_id: uuid.UUID) -> bool:
        """One attempt; True when the job is settled, False when it waits for a retry."""
        failures = await self.attempt(job_id)
        if not failures:
            self.retry.done(job_id)
            return True
        delay = self.retry.failed(job_id, failures)
        self._wake.set()
        for failure in failures:
            log.warning(
                "%s: cannot delete %s of job %s (attempt %d): %s; %s",
                self.name,
                failure.key,
                job_id,
                self.retry.attempts(job_id) or 1,
                failure.error,
                f"retrying in {delay:g} s" if delay is not None else "queue full, next sweep",
                extra={"action": f"{self.name}.delete_failed"},
            )
        return False

    async def attempt(self, job_id: uuid.UUID) -> tuple[FailedFile, ...]:
        """Delete the job's files and append the answer; the files that could not go."""
        stream = job_stream(job_id)
        events = await self._store.read_stream(stream)
        state = fold(events)
        cause = next((e for e in events if e.type == self._cleanup.cause_type), None)
        if state is None or cause is None or self._cleanup.is_done(state):
            return ()
        (prefix, keep), *others = self._cleanup.sweeps(state)
        report = await delete_job_objects(
            self._storage, prefix, self._cleanup.files(state), keep=keep
        )
        for other, kept in others:
            if report.complete:
                swept = await delete_job_objects(self._storage, other, [], keep=kept)
                report.failed += swept.failed
                report.swept += swept.swept
        if not report.complete:
            return tuple(report.failed)
        if report.swept:
            log.info("%s: job %s: deleted %d object(s) the log never named", self.name, job_id,
                     len(report.swept), extra={"action": f"{self.name}.swept"})  # fmt: skip
        answer = self._cleanup.answer(state, cause, {f.key for f in report.refused})
        metadata = EventMetadata(
            correlation_id=cause.metadata.correlation_id or str(job_id),
            causation_id=str(cause.event_id),
            actor=self.name,
        )
        new = NewEvent.of(
            answer, event_id=answer_id(cause.event_id, self._cleanup.purpose), metadata=metadata
        )
        try:
            # ANY: the answer depends only on its cause, which the log never changes;
            # other writers (expiry, the other reactor) may append meanwhile, and that
            # is no conflict. The deterministic id, not the version, prevents doubles.
            await self._store.append(stream, [new], ANY)
        except DuplicateEventId:
            # Already answered with a different payload (a path's refusal changed
            # between attempts): the answer exists, which is all that matters.
            log.warning(
                "%s: job %s was already answered differently",
                self.name,
                job_id,
                extra={"action": f"{self.name}.answered_differently"},
            )
            return ()
        log.info(
            "%s: job %s done (%d file(s))",
            self.name,
            job_id,
            len(report.deleted),
            extra={"action": f"{self.name}.done"},
        )
        return ()

    # --- the component -----------------------------------------------------------------

    async def run(self) -> None:
        await asyncio.gather(self.runner.run(), self._retry_loop())

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.runner.stop()

    def readiness(self) -> dict[str, Any]:
        """Stuck deletions are reported, not fatal: the API still serves every request."""
        return {"ok": True, "active": self.runner.active, "stuck": self.retry.stuck()}

    async def _retry_loop(self) -> None:
        last_sweep: float | None = None
        while not self._stopping.is_set():
            if not self.runner.active:
                last_sweep = None  # becoming active (again) starts with a sweep
            else:
                if last_sweep is None or time.monotonic() - last_sweep >= self._sweep_interval_s:
                    last_sweep = time.monotonic()
                    await self._guarded(self._sweep())
                for job_id in self.retry.due():
                    if self._stopping.is_set() or not self.runner.active:
                        break
                    await self._guarded(self.settle(job_id), job_id)
            await self._sleep(self._next_wake(last_sweep))

    def _next_wake(self, last_sweep: float | None) -> float:
        wait = self._poll_interval_s if not self.runner.active else self._sweep_interval_s
        due = self.retry.seconds_until_due()
        if due is not None:
            wait = min(wait, due)
        if last_sweep is not None:
            wait = min(wait, max(0.0, last_sweep + self._sweep_interval_s - time.monotonic()))
        return wait

    async def _sweep(self) -> None:
        """Queue every job the view says is still owed its deletion."""
        rows = await self._database.pool.fetch(self._cleanup.sweep_sql, self.retry.capacity)
        for row in rows:
            self.retry.enqueue(row["job_id"])
        if rows:
            log.info(
                "%s: sweep found %d job(s) still owed",
                self.name,
                len(rows),
                extra={"action": f"{self.name}.sweep"},
            )

    async def _guarded(self, work: Any, job_id: uuid.UUID | None = None) -> None:
        """Nothing a retry or a sweep raises may end the loop."""
        try:
            await work
        except Exception as exc:
            log.exception(
                "%s: retry failed", self.name, extra={"action": f"{self.name}.retry_failed"}
            )
            if job_id is not None:
                self.retry.failed(job_id, (FailedFile("-", repr(exc)),))

    async def _sleep(self, seconds: float) -> None:
        await wait_for_wake(self._wake, seconds)
