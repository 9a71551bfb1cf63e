"""The reactors as the service runs them: registered for their roles, reported in
/readyz, and safe to run in two processes at once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from service.bootstrap import Services, running_services
from service.clock import FixedClock
from service.events.job import Expired, OutputsDeleted, ProcessingFinished, UploadsPurged
from service.http.app import create_app
from service.settings import Role, Settings
from tests.builders import T0
from tests.reactors.builders import Job, events_of, finished_job, received_job, undeletable
from tests.support import eventually

ANSWERS = (ProcessingFinished.TYPE, UploadsPurged.TYPE, Expired.TYPE, OutputsDeleted.TYPE)


def active(component: Any) -> bool:
    runner = getattr(component, "runner", None)
    return bool(runner.active if runner is not None else component.active)


async def counts(services: Services, job: Job) -> dict[str, int]:
    events = await services.store.read_stream(job.stream)
    return {t: sum(e.type == t for e in events) for t in ANSWERS}


async def test_readyz_reports_a_stuck_purge_and_stays_ready(
    aiohttp_client: Any, services: Services, settings: Settings
) -> None:
    # Given a finished job with an upload that cannot be deleted
    job = await finished_job(services)
    blocked = job.upload_paths(settings.data_dir)[0]
    with undeletable(blocked):
        # When the service runs its reactors
        client = await aiohttp_client(create_app(settings.model_copy(update={"role": Role.ALL})))

        async def stuck() -> list[dict[str, Any]]:
            body = await (await client.get("/readyz")).json()
            return body["upload_purger"]["stuck"]

        # Then /readyz names the job, the file, the error and the attempts
        await eventually(stuck)
        response = await client.get("/readyz")
        body = await response.json()
        [report] = body["upload_purger"]["stuck"]
        assert report["job_id"] == str(job.job_id)
        assert report["file"] == job.received.files[0].path
        assert report["attempts"] >= 1 and report["error"]
        # And the service stays ready: a stuck file is an operator's task, not an outage
        assert response.status == 200 and body["status"] == "ready"
        assert body["upload_purger"]["ok"] is True and body["output_reaper"]["stuck"] == []


async def test_two_processes_running_the_reactors_append_each_answer_once(
    services: Services, settings: Settings
) -> None:
    # Given finished jobs of each outcome and a job never started, all past their expiry
    jobs = [await finished_job(services, o) for o in ("completed", "partial", "failed")]  # type: ignore[arg-type]
    jobs.append(await received_job(services))
    clock = FixedClock(T0 + timedelta(days=2))
    reactors_only = settings.model_copy(update={"role": Role.REACTORS, "expiry_interval_s": 0.1})
    # When two service stacks run the reactors role (which feeds the job view too)
    # against one database and data dir
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_services(reactors_only, clock=clock))
        second = await stack.enter_async_context(running_services(reactors_only, clock=clock))

        async def all_reaped() -> bool:
            return all([await events_of(services, j, OutputsDeleted.TYPE) for j in jobs])

        await eventually(all_reaped, within=30)
        await asyncio.sleep(0.5)  # further expiry rounds, sweeps and redeliveries
        # Then each reactor is active in exactly one of them
        for mine, theirs in zip(first.components, second.components, strict=True):
            assert active(mine) != active(theirs), mine.name
    # And every job got each answer exactly once, and its files are gone
    for job in jobs:
        assert await counts(services, job) == dict.fromkeys(ANSWERS, 1)
        assert not any(p.exists() for p in job.upload_paths(settings.data_dir))
        assert not any(p.exists() for p in job.output_paths(settings.data_dir))
