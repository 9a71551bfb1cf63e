"""Unfinished and unused uploads expire: an expired one answers 410 until the reaper
(which runs with the reactors) deletes its bytes and row, then 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.clock import FixedClock
from service.http.keys import SERVICES
from service.reactors.wiring import reactors
from service.settings import Settings
from service.tus.reaper import UploadReaper
from tests.accounts.support import bearer, log_in
from tests.http.tus_support import (
    TUS,
    assert_error,
    new_upload,
    patch,
    stored,
    upload_whole,
    video_bytes,
)


def reaper(client: Any) -> UploadReaper:
    services = client.app[SERVICES]
    return UploadReaper(
        services.database.pool, services.clock, services.settings.tus_dir, interval_s=60
    )


async def test_an_expired_upload_answers_410_then_is_reaped_and_answers_404(
    client: Any, alice_headers: dict[str, str], clock: FixedClock, settings: Settings
) -> None:
    # Given an unfinished upload and a finished one never made into a job
    location = await new_upload(client, alice_headers, 100_000)
    await patch(client, alice_headers, location, 0, video_bytes(100_000)[:30_000])
    finished = await upload_whole(client, alice_headers, video_bytes(50_000))
    # And one created later, still fresh when the others expire
    clock.advance(timedelta(seconds=settings.upload_expiry_s // 2))
    fresh = await new_upload(client, alice_headers, 100_000)
    # When the expiry passes for the first two
    clock.advance(timedelta(seconds=settings.upload_expiry_s // 2 + 1))
    headers = bearer(await log_in(client, "alice"))
    # Then they answer 410 while their bytes wait for the reaper
    for path in (location, f"/api/uploads/{finished}"):
        response = await patch(client, headers, path, 30_000, b"x")
        await assert_error(response, 410, "upload_expired")
        assert (await client.head(path, headers={**headers, **TUS})).status == 410
    # And the reaper deletes exactly those, bytes and rows
    assert await reaper(client).reap_once() == 2
    assert not stored(settings, location).exists()
    assert not (settings.tus_dir / finished).exists()
    for path in (location, f"/api/uploads/{finished}"):
        assert (await client.head(path, headers={**headers, **TUS})).status == 404
    assert (await client.head(fresh, headers={**headers, **TUS})).status == 200
    assert stored(settings, fresh).exists()
    # And a second round finds nothing (a file already gone is fine)
    assert await reaper(client).reap_once() == 0


async def test_activity_pushes_the_expiry_back(
    client: Any, alice_headers: dict[str, str], clock: FixedClock, settings: Settings
) -> None:
    data = video_bytes(100_000)
    location = await new_upload(client, alice_headers, len(data))
    clock.advance(timedelta(seconds=settings.upload_expiry_s - 10))
    assert (await patch(client, alice_headers, location, 0, data[:50_000])).status == 204
    clock.advance(timedelta(seconds=20))
    headers = bearer(await log_in(client, "alice"))
    assert await reaper(client).reap_once() == 0
    assert (await patch(client, headers, location, 50_000, data[50_000:])).status == 204


async def test_the_reaper_runs_with_the_reactors(services: Any) -> None:
    assert "tus_reaper" in [c.name for c in reactors(services)]
