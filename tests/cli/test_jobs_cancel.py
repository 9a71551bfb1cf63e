"""`video-refresher jobs cancel ID`, run as an admin would: a real process."""

from __future__ import annotations

import uuid
from pathlib import Path
from subprocess import CompletedProcess

from service.bootstrap import Services
from tests.cli.test_commands import run_cli
from tests.reactors.builders import finished_job, processing_job, received_job


def cancel(database_url: str, data_dir: Path, job_id: str) -> CompletedProcess[str]:
    return run_cli(
        "jobs", "cancel", job_id, VR_DATABASE_URL=database_url, VR_DATA_DIR=str(data_dir)
    )


async def types(services: Services, stream: str) -> list[str]:
    return [e.type for e in await services.store.read_stream(stream)]


async def test_a_received_job_is_cancelled_and_a_processing_one_asked_to_stop(
    services: Services, database_url: str
) -> None:
    data_dir = services.settings.data_dir
    waiting, working = await received_job(services), await processing_job(services)
    # When an admin cancels both
    first = cancel(database_url, data_dir, str(waiting.job_id))
    second = cancel(database_url, data_dir, str(working.job_id))
    # Then the received one ended at once and the processing one is cancelling
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"job {waiting.job_id} cancelled"
    assert await types(services, waiting.stream) == [
        "UploadReceived",
        "CancellationRequested",
        "ProcessingFinished",
    ]
    assert second.returncode == 0, second.stderr
    assert "cancelling" in second.stdout
    assert (await types(services, working.stream))[-1] == "CancellationRequested"
    # And cancelling again says so, exits 0 and appends nothing
    again = cancel(database_url, data_dir, str(working.job_id))
    assert again.returncode == 0 and "already cancelling" in again.stdout
    assert (await types(services, working.stream)).count("CancellationRequested") == 1


async def test_unknown_malformed_and_finished_jobs_are_one_line_errors(
    services: Services, database_url: str
) -> None:
    data_dir = services.settings.data_dir
    done = await finished_job(services)
    for job_id, words in [
        (str(uuid.uuid4()), "no job"),
        ("not-a-uuid", "not a job id"),
        (str(done.job_id), "is completed"),
    ]:
        result = cancel(database_url, data_dir, job_id)
        lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
        assert result.returncode != 0, result.stderr
        assert len(lines) == 1 and lines[0].startswith("video-refresher: error:"), result.stderr
        assert words in lines[0] and "Traceback" not in result.stderr
    assert "CancellationRequested" not in await types(services, done.stream)
