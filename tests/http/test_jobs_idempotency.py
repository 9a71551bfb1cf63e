"""`Idempotency-Key` on `POST /api/jobs`: one job per key, the first answer replayed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from service.clock import FixedClock
from service.settings import Settings
from tests.http.upload_support import FTYP_MP4, event_count, field, multipart, video
from tests.support import eventually


async def test_a_repeated_key_replays_the_first_response_and_creates_nothing(
    client: Any, alice_headers: dict[str, str], app_pool: Any
) -> None:
    # Given a job created with an Idempotency-Key
    body, headers = multipart(video("a.mp4", FTYP_MP4))
    headers = {**alice_headers, **headers, "Idempotency-Key": "job-1"}
    first = await client.post("/api/jobs", data=body, headers=headers)
    assert first.status == 202
    # When the same request is sent again (a retry)
    again = await client.post("/api/jobs", data=body, headers=headers)
    # Then it gets the same status and body, and still only one job exists
    assert again.status == 202
    assert await again.json() == await first.json()
    assert await event_count(app_pool) == 1


async def test_keys_belong_to_one_user_and_last_a_day(
    client: Any, alice_headers: dict[str, str], app_pool: Any, clock: FixedClock
) -> None:
    from tests.accounts.support import bearer, log_in, make_user

    await make_user(app_pool, "bob")
    bob = bearer(await log_in(client, "bob"))
    body, headers = multipart(video("a.mp4", FTYP_MP4))
    key = {"Idempotency-Key": "same"}
    ids = []
    for auth in (alice_headers, bob):
        response = await client.post("/api/jobs", data=body, headers={**auth, **headers, **key})
        ids.append((await response.json())["job_id"])
    # When a day has passed, the key is free again
    clock.advance(timedelta(hours=24, seconds=1))
    alice_again = bearer(await log_in(client, "alice"))  # the old token expired too
    response = await client.post("/api/jobs", data=body, headers={**alice_again, **headers, **key})
    ids.append((await response.json())["job_id"])
    assert len(set(ids)) == 3 and await event_count(app_pool) == 3


async def test_a_failed_request_releases_its_key(
    client: Any, alice_headers: dict[str, str], app_pool: Any
) -> None:
    key = {"Idempotency-Key": "retry-me"}
    bad, headers = multipart(video("a.mp4", FTYP_MP4), field("variations", "99"))
    assert (
        await client.post("/api/jobs", data=bad, headers={**alice_headers, **headers, **key})
    ).status == 400
    good, headers = multipart(video("a.mp4", FTYP_MP4))
    retry = await client.post("/api/jobs", data=good, headers={**alice_headers, **headers, **key})
    assert retry.status == 202 and await event_count(app_pool) == 1


async def test_a_duplicate_sent_while_the_first_is_running_gets_409_and_no_second_job(
    client: Any, alice_headers: dict[str, str], app_pool: Any, settings: Settings
) -> None:
    # Given a first request whose body is held back halfway
    body, headers = multipart(video("a.mp4", FTYP_MP4 + b"\0" * 300_000))
    headers = {**alice_headers, **headers, "Idempotency-Key": "k"}
    release = asyncio.Event()

    async def slow_body() -> Any:
        yield body[: len(body) // 2]
        await release.wait()
        yield body[len(body) // 2 :]

    first = asyncio.create_task(
        client.post(
            "/api/jobs", data=slow_body(), headers={**headers, "Content-Length": str(len(body))}
        )
    )
    await eventually(lambda: app_pool.fetchval("SELECT count(*) FROM idempotency_keys"))
    # When duplicates arrive meanwhile
    duplicates = await asyncio.gather(
        *(client.post("/api/jobs", data=body, headers=headers) for _ in range(3))
    )
    # Then each is told the first is still in progress
    for duplicate in duplicates:
        assert duplicate.status == 409
        assert (await duplicate.json())["error"]["code"] == "idempotency_in_progress"
    # And when the first finishes it creates the only job, which later repeats replay
    release.set()
    response = await first
    assert response.status == 202
    replay = await client.post("/api/jobs", data=body, headers=headers)
    assert await replay.json() == await response.json()
    assert await event_count(app_pool) == 1


async def test_a_malformed_key_answers_400(client: Any, alice_headers: dict[str, str]) -> None:
    body, headers = multipart(video("a.mp4", FTYP_MP4))
    for key in ("x" * 256, "caf\u00e9"):
        response = await client.post(
            "/api/jobs", data=body, headers={**alice_headers, **headers, "Idempotency-Key": key}
        )
        assert response.status == 400
