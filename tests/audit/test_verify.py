"""`audit verify`: every hash chain recomputed, the first broken link of each stream
reported; the job view compared with a fresh replay of the log at its checkpoint."""

from __future__ import annotations

import uuid

import asyncpg

from service.bootstrap import Services
from tests.audit.support import command, job_view_runner, logged_job
from tests.support import eventually, running

# As a superuser could: switch the append-only trigger off for one statement.
_TAMPER = """
ALTER TABLE events DISABLE TRIGGER events_append_only_rows;
{statement};
ALTER TABLE events ENABLE TRIGGER events_append_only_rows;
"""


async def tamper(pool: asyncpg.Pool, statement: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_TAMPER.format(statement=statement))


async def project(services: Services, position: int) -> None:
    """Run the live job view until it has applied `position`."""
    async with running(job_view_runner(services)):
        await eventually(lambda: services.job_view_waiter.latest.position >= position, within=30)


async def test_an_honest_log_and_its_view_pass_even_when_the_view_lags(
    services: Services,
) -> None:
    # Given jobs in the log and the job view fed from it
    jobs = [await logged_job(services) for _ in range(3)]
    await project(services, jobs[-1].appended[-1].last_position)
    # And a job appended after the runner stopped: the view lags behind the log
    await logged_job(services, events=4)
    # When an auditor verifies
    status, out = await command(services, "audit", "verify")
    # Then every link holds and the view matches the log at its own checkpoint
    assert status == 0, out
    assert "hash chains: 4 stream(s), 34 event(s): every link intact" in out
    assert "3 job(s) compared: all match the log" in out
    assert out.splitlines()[-1] == "verify: ok"


async def test_a_tampered_payload_a_deleted_event_and_a_rehashed_event_break_their_chains(
    services: Services,
) -> None:
    pool = services.database.pool
    edited, deleted, rehashed, honest = [await logged_job(services) for _ in range(4)]
    # Given a payload changed in place (the bytes an UploadsPurged freed)
    await tamper(
        pool,
        "UPDATE events SET data = jsonb_set(data, '{bytes_freed}', '0') "
        f"WHERE stream_id = '{edited.stream}' AND version = 8",
    )
    # And an event deleted from the middle of a stream
    await tamper(pool, f"DELETE FROM events WHERE stream_id = '{deleted.stream}' AND version = 3")
    # And an event changed and its own hash recomputed to match, chained to its predecessor
    await tamper(
        pool,
        f"""UPDATE events e SET data = jsonb_set(e.data, '{{worker}}', '"mallory"'),
               hash = event_chain_hash(p.hash, e.stream_id, e.version, e.type,
                                       jsonb_set(e.data, '{{worker}}', '"mallory"'), e.metadata)
            FROM events p
            WHERE e.stream_id = '{rehashed.stream}' AND e.version = 2
              AND p.stream_id = e.stream_id AND p.version = 1""",
    )
    # When an auditor verifies
    status, out = await command(services, "audit", "verify")
    # Then each damaged stream reports its first broken link, and the honest one nothing
    assert status == 1
    assert "hash chains: 4 stream(s), 39 event(s): 3 broken" in out
    broken = [line.strip() for line in out.splitlines() if line.startswith("  job-")]
    assert broken == sorted(
        [
            f"{edited.stream}: version 8 (position {edited.appended[7].last_position}): "
            "the stored hash does not match the event's content and its predecessor",
            f"{deleted.stream}: version 4 (position {deleted.appended[3].last_position}): "
            "version 3 is missing (the event was deleted)",
            f"{rehashed.stream}: version 3 (position {rehashed.appended[2].last_position}): "
            "the stored hash does not match the event's content and its predecessor",
        ]
    )
    assert honest.stream not in out
    assert out.splitlines()[-1] == "verify: 3 problem(s)"


async def test_job_view_rows_edited_by_hand_are_listed_with_what_differs(
    services: Services,
) -> None:
    pool = services.database.pool
    # Given four jobs projected into the job view
    status_edited, state_edited, removed, intact = [await logged_job(services) for _ in range(4)]
    await project(services, intact.appended[-1].last_position)
    # When rows are edited by hand: a column, the state document, a deleted row, an invented row
    await pool.execute(
        "UPDATE job_view SET status = 'completed' WHERE job_id = $1", status_edited.job_id
    )
    await pool.execute(
        "UPDATE job_view SET state = jsonb_set(state, '{outputs_deleted}', 'false') "
        "WHERE job_id = $1",
        state_edited.job_id,
    )
    await pool.execute("DELETE FROM job_view WHERE job_id = $1", removed.job_id)
    invented = uuid.uuid4()
    await pool.execute(
        "INSERT INTO job_view SELECT $1, owner_id, status, created_at, expires_at, version, "
        "last_position, state FROM job_view WHERE job_id = $2",
        invented,
        intact.job_id,
    )
    status, out = await command(services, "audit", "verify")
    # Then verify fails and names each of them, and only them, with what differs
    assert status == 1
    assert "every link intact" in out
    assert "5 job(s) compared: 4 differ from the log" in out
    findings = [line.strip() for line in out.splitlines() if line.startswith("  job ")]
    assert sorted(findings) == sorted(
        [
            f"job {status_edited.job_id}: column status: view 'completed', log 'expired'",
            f"job {state_edited.job_id}: state.outputs_deleted: view False, log True",
            f"job {removed.job_id}: missing from the view",
            f"job {invented}: the view has a row; the log has no such job",
        ]
    )
    assert str(intact.job_id) not in out
