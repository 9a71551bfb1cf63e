"""Who sees what on the live streams, and what is refused before a stream starts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Role, Settings
from tests import builders
from tests.accounts.support import bearer, log_in, make_user
from tests.http.live_support import append, new_job, stream
from tests.http.sse import SSEReader


@pytest.fixture
async def bob(app_pool: Any) -> Any:
    return await make_user(app_pool, "bob")


@pytest.fixture
async def bob_headers(client: Any, bob: Any) -> dict[str, str]:
    return bearer(await log_in(client, "bob"))


async def test_api_live_shows_each_user_only_their_jobs_and_an_admin_all(
    client: Any,
    app_pool: Any,
    alice: Any,
    bob: Any,
    alice_headers: dict[str, str],
    bob_headers: dict[str, str],
) -> None:
    await make_user(app_pool, "root", admin=True)
    admin_headers = bearer(await log_in(client, "root"))
    # Given one job each already, and all three watching /api/live
    alice_old = await new_job(client, alice.id)
    bob_old = await new_job(client, bob.id)
    async with (
        stream(client, "/api/live", alice_headers) as alice_live,
        stream(client, "/api/live", bob_headers) as bob_live,
        stream(client, "/api/live", admin_headers) as admin_live,
    ):
        snapshots = [await r.next() for r in (alice_live, bob_live, admin_live)]
        # Then each snapshot lists only the jobs its caller may see
        listed = [{j["job_id"] for j in s.json["jobs"]} for s in snapshots]
        assert listed == [{str(alice_old)}, {str(bob_old)}, {str(alice_old), str(bob_old)}]
        # When their jobs' events interleave
        jobs = {"alice": alice_old, "bob": bob_old}
        order = ["alice", "bob", "bob", "alice", "bob", "alice"]
        for who in order:
            await append(client, builders.processing_started(jobs[who], attempt=2))
        # Then each user sees only their own, and the admin sees all, in the log's order
        mine = {
            "alice": await alice_live.take(3),
            "bob": await bob_live.take(3),
        }
        everyone = await admin_live.take(6)
        for who, messages in mine.items():
            assert {m.json["data"]["job_id"] for m in messages} == {str(jobs[who])}
        assert [m.json["data"]["job_id"] for m in everyone] == [str(jobs[w]) for w in order]
        positions = [int(m.id or 0) for m in everyone]
        assert positions == sorted(positions)
        # And nothing of bob's ever reached alice
        for reader in (alice_live, bob_live):
            with pytest.raises(TimeoutError):
                await reader.next(within=0.3)


async def test_another_users_job_stream_is_404_like_an_unknown_one_and_a_token_is_needed(
    client: Any, alice: Any, bob_headers: dict[str, str]
) -> None:
    job_id = await new_job(client, alice.id)
    theirs = await client.get(f"/api/jobs/{job_id}/live", headers=bob_headers)
    unknown = await client.get(f"/api/jobs/{uuid.uuid4()}/live", headers=bob_headers)
    assert theirs.status == unknown.status == 404
    assert await theirs.json() == await unknown.json()
    assert (await client.get(f"/api/jobs/{job_id}/live")).status == 401
    assert (await client.get("/api/live")).status == 401


@pytest.mark.parametrize("raw", ["garbage", "-1", "1.5", "99999999999", " ", "9" * 30])
async def test_a_position_the_caller_could_not_know_is_a_400_before_the_stream(
    client: Any, alice: Any, alice_headers: dict[str, str], raw: str
) -> None:
    job_id = await new_job(client, alice.id)
    for path in (f"/api/jobs/{job_id}/live", "/api/live"):
        by_header = await client.get(path, headers={**alice_headers, "Last-Event-ID": raw})
        by_query = await client.get(path, headers=alice_headers, params={"after": raw})
        for response, field in ((by_header, "Last-Event-ID"), (by_query, "after")):
            body = await response.json()
            assert response.status == 400, body
            assert response.headers["Content-Type"].startswith("application/json")
            assert body["error"]["code"] == "invalid_position"
            assert body["error"]["field"] == field


async def test_an_expired_job_whose_events_were_all_sent_answers_204(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job that finished and expired, watched until its last event
    job_id = await new_job(client, alice.id)
    async with stream(client, f"/api/jobs/{job_id}/live", alice_headers) as live:
        await live.next()
        await append(client, builders.processing_finished(job_id, "failed"))
        await append(client, builders.expired(job_id))
        seen = await live.take(2)
    assert seen[-1].event == "Expired"
    # When the client reconnects from that last id, it is told there is no more (204)
    done = await client.get(
        f"/api/jobs/{job_id}/live", headers={**alice_headers, "Last-Event-ID": seen[-1].id}
    )
    assert done.status == 204
    # But from an earlier id it still gets what it missed
    async with stream(
        client, f"/api/jobs/{job_id}/live", alice_headers, **{"Last-Event-ID": seen[0].id}
    ) as live:
        assert (await live.next()).event == "Expired"


async def test_a_heartbeat_comment_comes_every_live_heartbeat_s(
    aiohttp_client: Any, settings: Settings
) -> None:
    fast = settings.model_copy(update={"role": Role.API, "live_heartbeat_s": 0.1})
    client = await aiohttp_client(create_app(fast))
    await make_user(client.app[SERVICES].database.pool, "carol")
    headers = bearer(await log_in(client, "carol"))
    response = await client.get("/api/live", headers=headers)
    try:
        reader = SSEReader(response)
        await reader.next()  # the snapshot
        with pytest.raises(TimeoutError):
            await reader.next(within=0.5)  # no event, but...
        assert reader.comments.count("ping") >= 2
    finally:
        response.close()
