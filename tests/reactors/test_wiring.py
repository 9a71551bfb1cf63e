"""The reactors as the service runs them: registered for their roles, reported in
/readyz, and safe to run in two processes at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from typing import Any

from service.bootstrap import Services
from service.events.job import Expired, OutputsDeleted, ProcessingFinished, UploadsPurged
from service.http.app import create_app
from service.settings import Role, Settings
from tests.cli.test_commands import ROOT, cli_env, free_port
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
        assert report["file"] == job.received.files[0].key
        assert report["attempts"] >= 1 and report["error"]
        # And the service stays ready: a stuck file is an operator's task, not an outage
        assert response.status == 200 and body["status"] == "ready"
        assert body["upload_purger"]["ok"] is True and body["output_reaper"]["stuck"] == []


async def test_two_service_processes_running_the_reactors_append_each_answer_once(
    services: Services, settings: Settings, database_url: str
) -> None:
    # Given finished jobs of each outcome and a job never started, all past their expiry
    jobs = [await finished_job(services, o) for o in ("completed", "partial", "failed")]  # type: ignore[arg-type]
    jobs.append(await received_job(services))
    # When two `serve` processes run the reactors role (which feeds the job view too)
    # against one database and one data dir
    ports = [free_port(), free_port()]
    processes = [await start_reactors_process(database_url, settings, port) for port in ports]
    try:

        async def all_reaped() -> bool:
            return all([await events_of(services, j, OutputsDeleted.TYPE) for j in jobs])

        await eventually(all_reaped, within=60)
        await asyncio.sleep(0.5)  # further expiry rounds, sweeps and redeliveries
        # Then each reactor is active in exactly one of them
        reports = [await asyncio.to_thread(readyz, port) for port in ports]
        for name in ("upload_purger", "output_reaper"):
            assert sorted(r[name]["active"] for r in reports) == [False, True], name
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), 30)
    # And every job got each answer exactly once, and its files are gone
    for job in jobs:
        assert await counts(services, job) == dict.fromkeys(ANSWERS, 1)
        assert not any(p.exists() for p in job.upload_paths(settings.data_dir))
        assert not any(p.exists() for p in job.output_paths(settings.data_dir))


async def start_reactors_process(
    database_url: str, settings: Settings, port: int
) -> asyncio.subprocess.Process:
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(settings.data_dir),
        VR_ROLE="reactors",
        VR_PORT=str(port),
        VR_POLL_INTERVAL_S="0.05",
        VR_EXPIRY_INTERVAL_S="0.1",
    )
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def readyz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]
