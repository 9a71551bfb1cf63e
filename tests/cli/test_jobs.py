"""`video-refresher jobs expire ID`, run as an admin would: a real process."""

from __future__ import annotations

import uuid
from pathlib import Path
from subprocess import CompletedProcess

from service.bootstrap import Services
from service.events.job import Expired
from tests.cli.test_commands import run_cli
from tests.reactors.builders import events_of, finished_job, processing_job, received_job


def expire(database_url: str, data_dir: Path, job_id: str) -> CompletedProcess[str]:
    return run_cli(
        "jobs", "expire", job_id, VR_DATABASE_URL=database_url, VR_DATA_DIR=str(data_dir)
    )


async def test_an_admin_expires_a_job_now_and_a_second_time_is_told_so(
    services: Services, database_url: str
) -> None:
    data_dir = services.settings.data_dir
    # Given a finished job
    job = await finished_job(services)
    # When an admin expires it
    first = expire(database_url, data_dir, str(job.job_id))
    # Then it has one Expired with reason admin
    assert first.returncode == 0, first.stderr
    assert f"job {job.job_id} expired" in first.stdout
    [expired] = await events_of(services, job, Expired.TYPE)
    assert expired.event.reason == "admin" and expired.metadata.actor == "admin-cli"
    # And a second time says so, succeeds, and appends nothing
    second = expire(database_url, data_dir, str(job.job_id))
    assert second.returncode == 0, second.stderr
    assert "already expired" in second.stdout
    assert len(await events_of(services, job, Expired.TYPE)) == 1


async def test_expiring_a_job_never_started_fails_it_first(
    services: Services, database_url: str
) -> None:
    job = await received_job(services)
    result = expire(database_url, services.settings.data_dir, str(job.job_id))
    assert result.returncode == 0, result.stderr
    types = [e.type for e in await services.store.read_stream(job.stream)]
    assert types == ["UploadReceived", "ProcessingFinished", "Expired"]


async def test_unknown_malformed_and_processing_jobs_are_one_line_errors(
    services: Services, database_url: str
) -> None:
    data_dir = services.settings.data_dir
    working = await processing_job(services)
    for job_id, words in [
        (str(uuid.uuid4()), "no job"),
        ("not-a-uuid", "not a job id"),
        (str(working.job_id), "is being processed"),
    ]:
        result = expire(database_url, data_dir, job_id)
        errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
        assert result.returncode != 0, result.stderr
        assert len(errors) == 1 and errors[0].startswith("video-refresher: error:"), result.stderr
        assert words in errors[0] and "Traceback" not in result.stderr
    assert [e.type for e in await services.store.read_stream(working.stream)] == [
        "UploadReceived",
        "ProcessingStarted",
    ]
