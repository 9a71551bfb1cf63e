"""Compare the job view with the log: fold every job stream up to the view's checkpoint
with the projection's own fold and list each job whose row differs from its replay.

The comparison must read the view's rows and its checkpoint from one snapshot (the live
runner changes both in one transaction), so it runs in a repeatable-read transaction;
then a view that merely lags behind the log is not reported as different.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from service.events.log_reader import Checkpoint
from service.projections import checkpoints, job_view
from service.projections.job_state import JobState
from service.projections.replay import ReplayedJob, replay_jobs

BATCH = 500  # jobs whose rows are fetched in one query

_ROWS = f"SELECT {', '.join(job_view.COLUMNS)} FROM job_view WHERE job_id = ANY ($1::uuid[])"
# Rows for which the log has no stream at all up to the checkpoint.
_WITHOUT_STREAM = """
SELECT job_id FROM job_view v
WHERE NOT EXISTS (
    SELECT 1 FROM events e
    WHERE e.stream_id = 'job-' || v.job_id
      AND (e.transaction_id, e.position) <= ($1::xid8, $2::bigint))
ORDER BY job_id
"""
_SHOWN = 80  # characters of a value shown in a difference


@dataclass(frozen=True)
class ViewDifference:
    job_id: uuid.UUID
    problems: tuple[str, ...]


@dataclass
class ViewReport:
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    jobs: int = 0
    differences: list[ViewDifference] = field(default_factory=list)


async def compare_job_view(conn: asyncpg.Connection) -> ViewReport:
    """Every job of the log and every row of the view, compared at the view's checkpoint.

    Call inside a repeatable-read transaction (see the module doc).
    """
    report = ViewReport(checkpoint=await checkpoints.peek(conn, job_view.NAME))
    batch: list[ReplayedJob] = []
    # Without prefetching the reader leaves the connection idle between jobs: the batch
    # queries below share it.
    async for job in replay_jobs(conn, report.checkpoint, prefetch=False):
        batch.append(job)
        if len(batch) >= BATCH:
            await _compare_batch(conn, batch, report)
            batch = []
    if batch:
        await _compare_batch(conn, batch, report)
    cp = report.checkpoint
    for row in await conn.fetch(_WITHOUT_STREAM, cp.transaction_id, cp.position):
        report.jobs += 1
        report.differences.append(
            ViewDifference(row["job_id"], ("the view has a row; the log has no such job",))
        )
    return report


async def _compare_batch(
    conn: asyncpg.Connection, batch: list[ReplayedJob], report: ViewReport
) -> None:
    rows = {r["job_id"]: r for r in await conn.fetch(_ROWS, [j.job_id for j in batch])}
    for job in batch:
        row = rows.get(job.job_id)
        if job.state is None and row is None:
            continue  # stray events without an upload: no job, and no row
        report.jobs += 1
        problems = differences(row, job.state)
        if problems:
            report.differences.append(ViewDifference(job.job_id, tuple(problems)))


def differences(row: asyncpg.Record | None, replayed: JobState | None) -> list[str]:
    """How a view row differs from the replayed state; empty when they agree."""
    if row is None:
        return ["missing from the view"]
    if replayed is None:
        return ["the view has a row; the log never received this job"]
    problems = [
        f"column {name}: view {_show(row[name])}, log {_show(value)}"
        for name, value in zip(job_view.COLUMNS[:-1], job_view.row_of(replayed)[:-1], strict=True)
        if row[name] != value
    ]
    try:
        stored = JobState.model_validate_json(row["state"])
    except ValidationError as exc:
        return [*problems, f"state: not a valid job document ({exc.error_count()} error(s))"]
    for name in JobState.model_fields:
        mine, theirs = getattr(stored, name), getattr(replayed, name)
        if mine != theirs:
            problems.append(f"state.{name}: view {_show(mine)}, log {_show(theirs)}")
    return problems


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
