"""Figures that live in the database, read when Prometheus scrapes: the log's head, each
subscription's position and lag, and how many jobs are in each status.

Reading them at scrape time (rather than in a background loop) costs nothing between
scrapes and is never staler than the scrape. A database that does not answer within the
bound leaves the last values in place; the scrape still answers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import get_args

import asyncpg

from service.events.log_reader import head
from service.metrics import catalogue as m
from service.projections.job_state import JobStatus
from service.projections.status import subscription_statuses

log = logging.getLogger(__name__)

REFRESH_TIMEOUT_S = 2.0  # a scrape must answer even when the database hangs
_JOBS_BY_STATUS = "SELECT status, count(*) AS n FROM job_view GROUP BY status"


async def refresh(pool: asyncpg.Pool) -> None:
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT_S), pool.acquire() as conn:
            log_head = await head(conn)
            statuses = await subscription_statuses(conn)
            counts = {r["status"]: r["n"] for r in await conn.fetch(_JOBS_BY_STATUS)}
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        log.warning("metrics: could not read the database: %r", exc,
                    extra={"action": "metrics.refresh_failed"})  # fmt: skip
        return
    m.LOG_HEAD.set(log_head.position)
    for status in statuses:
        m.SUBSCRIPTION_POSITION.labels(status.name).set(status.checkpoint.position)
        m.SUBSCRIPTION_LAG_EVENTS.labels(status.name).set(status.lag_events)
        m.SUBSCRIPTION_LAG_SECONDS.labels(status.name).set(status.lag_s)
    for job_status in get_args(JobStatus):
        m.JOBS.labels(job_status).set(counts.get(job_status, 0))
