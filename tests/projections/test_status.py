"""`projections status`: each subscription's checkpoint, the head, the lag and who holds it."""

from __future__ import annotations

import asyncio

from service.bootstrap import Services
from service.db.database import process_name
from service.projections import job_view
from service.projections.status import subscription_statuses
from tests.audit.support import command, job_view_runner, log_visible, logged_job
from tests.support import eventually, running


async def test_status_shows_checkpoint_head_lag_and_the_live_holder(services: Services) -> None:
    pool = services.database.pool
    # Given a job in the log and the job view's runner caught up with it
    job = await logged_job(services)
    head = job.appended[-1].last_position
    runner = job_view_runner(services)
    async with running(runner):
        await eventually(
            lambda: runner.checkpoint is not None and runner.checkpoint.position == head,
            within=30,
        )
        # When an admin asks for the status while it runs
        status, out = await command(services, "projections", "status")
        # Then the job view is at the head, with no lag, held by this process
        assert status == 0
        header, line = out.splitlines()
        assert header.split() == [
            "NAME",
            "CHECKPOINT",
            "HEAD",
            "LAG",
            "EVENTS",
            "LAG",
            "S",
            "HOLDER",
        ]
        assert line.split()[:5] == [job_view.NAME, str(head), str(head), "0", "0.0"]
        assert f"{process_name()} (backend " in line
    # And once it has stopped and three more events arrived, it lags by them and by their age
    await logged_job(services, events=3)
    await log_visible(services)
    await asyncio.sleep(0.2)
    async with pool.acquire() as conn:
        [stopped] = await subscription_statuses(conn)
    assert stopped.lag_events == 3 and stopped.head.position == head + 3
    assert stopped.lag_s >= 0.2
    assert stopped.holder is None and stopped.last_holder == process_name()
    _, out = await command(services, "projections", "status")
    assert out.splitlines()[1].endswith(f"none (last: {process_name()})")
