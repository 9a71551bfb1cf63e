"""The expiry scheduler: expire jobs past their retention, and the oldest under disk pressure.

One round runs at start and then every `VR_EXPIRY_INTERVAL_S`. A session advisory lock
on the scheduler's own connection keeps one active instance across all processes (as
the subscription runner does); every append also expects the version the job view
showed, so even an overlap at failover cannot expire a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from service.clock import Clock
from service.db.database import Database
from service.db.unavailable import is_database_down
from service.errors import JobStillProcessing, WrongExpectedVersion
from service.events.job import ExpiryReason
from service.events.notify import wait_for_wake
from service.events.store import EventStore
from service.projections.job_state import FINISHED, JobState
from service.projections.runner import RECONNECT_DELAY_S, lock_key_sql
from service.reactors.expire import expire_job
from service.reactors.pressure import DiskUsage, freeable_bytes, measure

log = logging.getLogger(__name__)

NAME = "expiry_scheduler"
PAGE_SIZE = 200  # jobs per query: a round over many jobs never holds them all in memory

_DUE = """
SELECT state FROM job_view
WHERE status = ANY ($1::text[]) AND expires_at <= $2
  AND ($3::timestamptz IS NULL OR (expires_at, job_id) > ($3, $4::uuid))
ORDER BY expires_at, job_id
LIMIT $5
"""
_OLDEST = """
SELECT state FROM job_view
WHERE status = ANY ($1::text[])
  AND ($2::timestamptz IS NULL OR (created_at, job_id) > ($2, $3::uuid))
ORDER BY created_at, job_id
LIMIT $4
"""
# The bytes the log says are stored: outputs not yet deleted and uploads not yet purged.
_RECORDED_BYTES = """
SELECT coalesce(sum(
    CASE WHEN state->>'outputs_deleted' = 'false' THEN
        (SELECT coalesce(sum((o->>'size')::bigint), 0)
         FROM jsonb_array_elements(state->'outputs') o)
    ELSE 0 END
  + CASE WHEN state->>'uploads_purged' = 'false' THEN
        (SELECT coalesce(sum((f->>'size')::bigint), 0) FROM jsonb_array_elements(state->'files') f)
    ELSE 0 END
), 0)::bigint FROM job_view
"""
_EXPIRED_NOT_REAPED = """
SELECT state FROM job_view WHERE status = 'expired' AND state->>'outputs_deleted' = 'false'
"""

UsageProbe = Callable[[], tuple[int, int]]


@dataclass
class ExpiryRound:
    """What one round did, for logs and tests."""

    expired: list[uuid.UUID] = field(default_factory=list)
    evicted: list[uuid.UUID] = field(default_factory=list)
    skipped: list[uuid.UUID] = field(default_factory=list)  # lost a race: next round
    usage: DiskUsage | None = None


class ExpiryScheduler:
    """A component: runs rounds while it holds the scheduler's lock."""

    name = NAME

    def __init__(
        self,
        *,
        store: EventStore,
        database: Database,
        clock: Clock,
        data_dir: Path,
        interval_s: float,
        high_water: float,
        low_water: float,
        poll_interval_s: float = 1.0,
        usage_probe: UsageProbe | None = None,
        quota_bytes: int | None = None,
        measure_disk: bool = True,
    ) -> None:
        self._store = store
        self._database = database
        self._clock = clock
        self._interval_s = interval_s
        self._high_water = high_water
        self._low_water = low_water
        self._poll_interval_s = poll_interval_s
        self._probe = usage_probe or (lambda: measure(data_dir))
        # A quota (any backend) compares what the log records with it; without one the
        # data volume is measured, which says nothing about a bucket (measure_disk False).
        self._quota_bytes = quota_bytes
        self._measure_disk = measure_disk
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.active = False
        self.rounds = 0

    # --- one round ---------------------------------------------------------------------

    async def run_once(self) -> ExpiryRound:
        """Expire what retention says is due, then relieve storage pressure."""
        now = self._clock.now()
        result = ExpiryRound()
        statuses = [*FINISHED, "received"]
        async for state in self._pages(_DUE, statuses, now, key=lambda s: s.expires_at):
            await self._expire(state, "retention", now, result.expired, result)
        await self._relieve_pressure(now, result)
        self.rounds += 1
        if result.expired or result.evicted or result.skipped:
            log.info(
                "expiry round: %d expired, %d evicted, %d skipped (raced)",
                len(result.expired),
                len(result.evicted),
                len(result.skipped),
                extra={"action": "expiry.round"},
            )
        return result

    async def _relieve_pressure(self, now: datetime, result: ExpiryRound) -> None:
        """Above the high-water mark, expire the oldest finished jobs until the usage,
        projected from what each expiry will free, is under the low-water mark."""
        try:
            if self._quota_bytes is not None:
                used, total = await self._recorded_bytes(), self._quota_bytes
            elif self._measure_disk:
                used, total = await asyncio.to_thread(self._probe)
            else:
                return
        except OSError as exc:
            log.warning(
                "cannot measure the data volume: %s", exc, extra={"action": "expiry.probe_failed"}
            )
            return
        result.usage = usage = DiskUsage(used, total)
        if total <= 0 or usage.fraction <= self._high_water:
            return
        # Jobs already expired but not yet reaped will free their bytes without our help.
        owed = await self._database.pool.fetch(_EXPIRED_NOT_REAPED)
        projected = used - sum(freeable_bytes(JobState.model_validate_json(r[0])) for r in owed)
        log.warning(
            "storage %.1f%% full (high water %.0f%%): evicting oldest results",
            100 * usage.fraction,
            100 * self._high_water,
            extra={"action": "expiry.storage_pressure"},
        )
        async for state in self._pages(_OLDEST, sorted(FINISHED), None, key=lambda s: s.created_at):
            if projected / total < self._low_water:
                return
            if await self._expire(state, "storage_pressure", now, result.evicted, result):
                projected -= freeable_bytes(state)

    async def _recorded_bytes(self) -> int:
        return int(await self._database.pool.fetchval(_RECORDED_BYTES))

    async def _expire(
        self,
        state: JobState,
        reason: ExpiryReason,
        now: datetime,
        into: list[uuid.UUID],
        result: ExpiryRound,
    ) -> bool:
        try:
            await expire_job(self._store, state, reason, now, actor=NAME)
        except (WrongExpectedVersion, JobStillProcessing):
            # The job moved on since the view showed it (a worker claimed it, someone
            # expired it): its next state decides, in the next round.
            result.skipped.append(state.job_id)
            return False
        into.append(state.job_id)
        return True

    async def _pages(
        self,
        sql: str,
        statuses: Sequence[str],
        now: datetime | None,
        *,
        key: Callable[[JobState], datetime],
    ) -> AsyncIterator[JobState]:
        """Every matching job in the query's order, a page at a time (keyset paging)."""
        after: tuple[datetime, uuid.UUID] | None = None
        while True:
            bound, job_id = after if after else (None, None)
            args = (statuses, now, bound, job_id) if now is not None else (statuses, bound, job_id)
            rows = await self._database.pool.fetch(sql, *args, PAGE_SIZE)
            for row in rows:
                state = JobState.model_validate_json(row[0])
                yield state
                after = (key(state), state.job_id)
            if len(rows) < PAGE_SIZE:
                return

    # --- the component -----------------------------------------------------------------

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                conn = await self._database.connect()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning(
                    "expiry scheduler cannot connect: %s",
                    exc,
                    extra={"action": "expiry.connect_failed"},
                )
                await self._sleep(RECONNECT_DELAY_S)
                continue
            try:
                await self._run_on(conn)
            except Exception as exc:
                # A failed round (database gone, a bug) must not end the component.
                if is_database_down(exc):
                    log.warning("expiry round stopped: database unavailable: %r", exc,
                                extra={"action": "expiry.database_unavailable"})  # fmt: skip
                else:
                    log.exception("expiry round failed", extra={"action": "expiry.failed"})
                await self._sleep(RECONNECT_DELAY_S)
            finally:
                self.active = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _run_on(self, conn: asyncpg.Connection) -> None:
        while not await conn.fetchval(f"SELECT pg_try_advisory_lock({lock_key_sql()})", NAME):
            await self._sleep(self._poll_interval_s)  # a standby
            if self._stopping.is_set():
                return
        self.active = True
        log.info("expiry scheduler is active here", extra={"action": "expiry.active"})
        while not self._stopping.is_set():
            await conn.fetchval("SELECT 1")  # still holding the lock? raises if not
            await self.run_once()
            await self._sleep(self._interval_s)

    async def _sleep(self, seconds: float) -> None:
        await wait_for_wake(self._wake, seconds)
