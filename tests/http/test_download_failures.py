"""A download whose files go missing or whose client goes away: an error before the first
byte, or a transfer cut short, never a well-formed ZIP with an entry missing."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
import psutil
import pytest

from service.events.base import NewEvent
from service.events.job import Expired, job_stream
from service.events.store import ANY
from service.reactors.file_reactor import FileReactor
from service.reactors.output_reaper import OutputReap
from tests.http.download_support import fetch, finished_job, services_of
from tests.support import eventually


async def test_an_output_missing_at_the_start_is_a_logged_500_before_any_byte(
    client: Any, alice: Any, alice_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job whose second output is no longer on disk
    job_id, outputs = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    outputs[1].path.unlink()
    # When it is downloaded
    response = await fetch(client, job_id, alice_headers)
    # Then the answer is a JSON 500 (no ZIP byte was sent), and the log names the file
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json())["error"]["code"] == "output_missing"
    assert any(
        getattr(r, "action", None) == "download.output_missing"
        and str(outputs[1].path) in r.getMessage()
        for r in caplog.records
    )


async def test_a_file_shrinking_mid_stream_ends_in_a_truncated_transfer(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"a.mp4": 2}, output_size=8 * 1024 * 1024
    )
    response = await fetch(client, job_id, alice_headers)
    first = await response.content.readexactly(1024)
    assert first.startswith(b"PK")
    os.truncate(outputs[1].path, 10)  # the second entry is not read yet
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()


async def test_a_client_that_goes_away_stops_the_reading_and_closes_every_file(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a large output (sparse: cheap to make, real to read)
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1}, sparse_size=256 * 1024 * 1024)
    me = psutil.Process()
    fds_before = me.num_fds()
    read_before = me.io_counters().read_chars
    # When a client reads the first chunk and disconnects
    response = await client.get(f"/api/jobs/{job_id}/download", headers=alice_headers)
    await response.content.readany()
    response.close()
    await asyncio.sleep(0.5)
    # Then the server stopped reading early and closed the file
    read = me.io_counters().read_chars - read_before
    assert read < 64 * 1024 * 1024, read
    await eventually(lambda: me.num_fds() <= fds_before, within=5)


async def test_a_download_under_way_when_the_reaper_deletes_the_outputs_is_cut_short(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a download of three 16 MiB outputs that has begun
    services = services_of(client)
    job_id, outputs = await finished_job(
        services, alice.id, {"a.mp4": 3}, sparse_size=16 * 1024 * 1024
    )
    response = await fetch(client, job_id, alice_headers)
    assert (await response.content.readexactly(1024)).startswith(b"PK")
    # When the job expires and the output reaper deletes its files
    expired = Expired(job_id=job_id, reason="admin", expired_at=services.clock.now())
    result = await services.store.append(job_stream(job_id), [NewEvent.of(expired)], ANY)
    reaper = FileReactor(
        OutputReap(), store=services.store, database=services.database,
        storage=services.storage,
    )  # fmt: skip
    assert await reaper.attempt(job_id) == ()
    assert not any(output.path.exists() for output in outputs)
    # Then the transfer under way ends short: never a well-formed ZIP missing entries
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    # And a new request is told the job expired
    await services.job_view_waiter.wait_for(result, 10)
    assert (await fetch(client, job_id, alice_headers)).status == 410


async def test_a_download_racing_its_expiry_is_a_410_even_while_the_view_lags(
    client: Any, alice: Any, alice_headers: dict[str, str], app_pool: Any
) -> None:
    # Given a finished job
    services = services_of(client)
    job_id, outputs = await finished_job(services, alice.id, {"a.mp4": 1})
    one = f"/api/jobs/{job_id}/outputs/{outputs[0].file_id}/1"
    async with app_pool.acquire() as connection, connection.transaction():
        # whose view is held behind the log (its projection waits on its checkpoint row)
        await connection.execute("SELECT 1 FROM subscriptions WHERE name = 'job_view' FOR UPDATE")
        # When it expires and the reaper has already deleted its files
        await services.store.append(
            job_stream(job_id),
            [NewEvent.of(Expired(job_id=job_id, reason="admin", expired_at=services.clock.now()))],
            ANY,
        )
        outputs[0].path.unlink()
        assert (await services.jobs.get(job_id)).status == "completed"  # the view lags
        # Then the ZIP and the single variation answer 410 as the log says, not 500
        for path in (f"/api/jobs/{job_id}/download", one):
            response = await client.get(path, headers=alice_headers)
            assert response.status == 410, (path, await response.text())
            assert (await response.json())["error"]["code"] == "expired"
