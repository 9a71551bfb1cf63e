"""Admins over HTTP: every job with its owner's name, and expiring a job now."""

from __future__ import annotations

from typing import Any

from service.clock import FixedClock
from tests.accounts.support import bearer, log_in, make_user
from tests.http.download_support import finished_job, services_of


async def test_an_admin_lists_every_job_with_its_owner_and_users_see_no_owner(
    client: Any, app_pool: Any
) -> None:
    alice = await make_user(app_pool, "alice")
    bob = await make_user(app_pool, "bob")
    await make_user(app_pool, "root", admin=True)
    await finished_job(services_of(client), alice.id, {"a.mp4": 1})
    await finished_job(services_of(client), bob.id, {"<b>.mp4": 2})
    admin = bearer(await log_in(client, "root"))
    rows = (await (await client.get("/api/jobs", headers=admin)).json())["jobs"]
    assert sorted((r["owner"], r["sources"][0]["name"]) for r in rows) == [
        ("alice", "a.mp4"),
        ("bob", "<b>.mp4"),
    ]
    bob_headers = bearer(await log_in(client, "bob"))
    mine = await (await client.get("/api/jobs", headers=bob_headers)).json()
    assert [(r["owner"], r["sources"][0]["name"]) for r in mine["jobs"]] == [(None, "<b>.mp4")]


async def test_an_admin_expires_a_finished_job_and_its_download_is_gone(
    client: Any, app_pool: Any, clock: FixedClock
) -> None:
    alice = await make_user(app_pool, "alice")
    await make_user(app_pool, "root", admin=True)
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 1})
    admin = bearer(await log_in(client, "root"))
    # When the admin expires it
    response = await client.post(f"/api/jobs/{job_id}/expire", headers=admin)
    # Then it is expired at once, for the reason "admin", and its download answers 410
    body = await response.json()
    assert response.status == 200, body
    assert body["status"] == "expired" and body["expiry_reason"] == "admin"
    owner = bearer(await log_in(client, "alice"))
    assert (await client.get(f"/api/jobs/{job_id}/download", headers=owner)).status == 410
    # And a second expiry changes nothing
    again = await client.post(f"/api/jobs/{job_id}/expire", headers=admin)
    assert again.status == 200 and (await again.json())["expired_at"] == body["expired_at"]


async def test_only_admins_may_expire_others_get_404_as_for_unknown_jobs(
    client: Any, app_pool: Any
) -> None:
    alice = await make_user(app_pool, "alice")
    await make_user(app_pool, "root", admin=True)
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 1})
    owner = bearer(await log_in(client, "alice"))
    refused = await client.post(f"/api/jobs/{job_id}/expire", headers=owner)
    assert refused.status == 404  # for anyone but an admin the action does not exist
    assert (await refused.json())["error"]["code"] == "not_found"
    admin = bearer(await log_in(client, "root"))
    unknown = await client.post(
        "/api/jobs/00000000-0000-0000-0000-000000000000/expire", headers=admin
    )
    assert unknown.status == 404
