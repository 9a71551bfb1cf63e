"""Job views: owners see their jobs, admins see all, anyone else gets the unknown-id 404."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from service.events.job import FileError, job_stream
from service.events.store import NO_STREAM
from service.http.keys import SERVICES
from tests import builders
from tests.accounts.support import bearer, log_in, make_user


async def record(client: Any, *events: Any) -> uuid.UUID:
    """Append one job's events (UploadReceived first) and wait for the job view."""
    services = client.app[SERVICES]
    job_id = events[0].job_id
    result = await services.store.append(
        job_stream(job_id), [builders.new(e) for e in events], NO_STREAM
    )
    assert await services.job_view_waiter.wait_for(result, 5)
    return job_id


@pytest.fixture
async def bob_headers(client: Any, app_pool: Any) -> dict[str, str]:
    await make_user(app_pool, "bob")
    return bearer(await log_in(client, "bob"))


@pytest.fixture
async def admin_headers(client: Any, app_pool: Any) -> dict[str, str]:
    await make_user(app_pool, "root", admin=True)
    return bearer(await log_in(client, "root"))


async def test_a_job_shows_progress_outputs_and_failures_but_no_disk_paths(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job of two files, one rendered twice, then finished partially
    upload = builders.upload_received(owner_id=alice.id, variations=2)
    good, bad = upload.files
    finished = builders.processing_finished(upload.job_id, "partial").model_copy(
        update={"errors": (FileError(file_id=bad.file_id, message="no video"),)}
    )
    job_id = await record(
        client,
        upload,
        builders.processing_started(upload.job_id),
        builders.variation_rendered(upload.job_id, good.file_id, 1, size=10, crc32=7),
        builders.variation_rendered(upload.job_id, good.file_id, 2, size=11, crc32=8),
        finished,
    )
    # When its owner asks for it
    response = await client.get(f"/api/jobs/{job_id}", headers=alice_headers)
    job = await response.json()
    # Then it shows status, per-file progress, outputs and failures
    assert response.status == 200, job
    assert job["status"] == "partial" and job["outcome"] == "partial"
    assert [(f["name"], f["status"], f["progress"]) for f in job["files"]] == [
        ("a.mp4", "rendered", {"rendered": 2, "requested": 2}),
        ("b.mov", "failed", {"rendered": 0, "requested": 2}),
    ]
    assert [(o["variation_index"], o["size"], o["crc32"]) for o in job["outputs"]] == [
        (1, 10, 7),
        (2, 11, 8),
    ]
    assert set(job["outputs"][0]["effects"]) == {
        "rotation_rad",
        "brightness",
        "contrast",
        "saturation",
    }
    assert job["failures"] == [{"file_id": str(bad.file_id), "message": "no video"}]
    assert job["uploads_purged"] is False
    assert job["created_at"] == upload.received_at.isoformat()
    assert job["expires_at"] == upload.expires_at.isoformat()
    assert job["links"]["download"] == f"/api/jobs/{job_id}/download"
    # And no disk path appears anywhere (the API's own variation URLs aside)
    text = str(job).replace(f"/api/jobs/{job_id}/outputs/", "/api/jobs/…/variation/")
    assert "uploads/" not in text and "outputs/" not in text


async def test_another_users_job_answers_exactly_like_an_unknown_one(
    client: Any, alice: Any, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    job_id = await record(client, builders.upload_received(owner_id=alice.id))
    for path in (f"/api/jobs/{job_id}", f"/api/jobs/{job_id}/events"):
        theirs = await client.get(path, headers=bob_headers)
        unknown = await client.get(
            path.replace(str(job_id), str(uuid.uuid4())), headers=bob_headers
        )
        assert theirs.status == unknown.status == 404
        assert await theirs.read() == await unknown.read()
        assert (await client.get(path, headers=alice_headers)).status == 200


async def test_admins_see_every_job(client: Any, alice: Any, admin_headers: dict[str, str]) -> None:
    job_id = await record(client, builders.upload_received(owner_id=alice.id))
    assert (await client.get(f"/api/jobs/{job_id}", headers=admin_headers)).status == 200
    assert (await client.get(f"/api/jobs/{job_id}/events", headers=admin_headers)).status == 200
    listed = await (await client.get("/api/jobs", headers=admin_headers)).json()
    assert [j["job_id"] for j in listed["jobs"]] == [str(job_id)]


@pytest.mark.parametrize("job_id", ["nope", "1234", "00000000-0000-0000-0000-00000000000g", "%00"])
async def test_malformed_job_ids_answer_404(
    client: Any, alice_headers: dict[str, str], job_id: str
) -> None:
    for path in (f"/api/jobs/{job_id}", f"/api/jobs/{job_id}/events"):
        response = await client.get(path, headers=alice_headers)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/jobs", f"/api/jobs/{uuid.uuid4()}", f"/api/jobs/{uuid.uuid4()}/events"]
)
@pytest.mark.parametrize("header", [None, "Bearer wrong"])
async def test_every_jobs_route_needs_a_valid_token(
    client: Any, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get(path, headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_list_pages_through_the_callers_jobs_newest_first(
    client: Any, alice: Any, alice_headers: dict[str, str], bob_headers: dict[str, str]
) -> None:
    # Given five jobs of alice's at distinct times, and one of someone else's
    mine = []
    for minutes in range(5):
        at = builders.T0 + timedelta(minutes=minutes)
        mine.append(
            await record(client, builders.upload_received(owner_id=alice.id, received_at=at))
        )
    await record(client, builders.upload_received())
    # When alice pages through two at a time
    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"/api/jobs{query}", headers=alice_headers)).json()
        seen += [j["job_id"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then she sees exactly her jobs, newest first, in three pages
    assert seen == [str(j) for j in reversed(mine)] and pages == 3
    # And bob sees none of them
    assert (await (await client.get("/api/jobs", headers=bob_headers)).json())["jobs"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("limit=101", "limit"),
        ("cursor=%25%25", "cursor"),
        ("cursor=bm9wZQ", "cursor"),
    ],
)
async def test_bad_paging_parameters_answer_400(
    client: Any, alice_headers: dict[str, str], query: str, field: str
) -> None:
    response = await client.get(f"/api/jobs?{query}", headers=alice_headers)
    assert response.status == 400
    assert (await response.json())["error"]["field"] == field


async def test_the_events_route_shows_the_jobs_history_in_order(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    upload = builders.upload_received(owner_id=alice.id)
    job_id = await record(client, upload, builders.processing_started(upload.job_id))
    response = await client.get(f"/api/jobs/{job_id}/events", headers=alice_headers)
    body = await response.json()
    assert response.status == 200
    assert body["job_id"] == str(job_id)
    assert [(e["type"], e["version"]) for e in body["events"]] == [
        ("UploadReceived", 1),
        ("ProcessingStarted", 2),
    ]
    first = body["events"][0]
    assert first["position"] < body["events"][1]["position"]
    assert first["data"]["owner_id"] == str(alice.id)
    assert first["metadata"] == {"actor": "test"}
    assert first["recorded_at"]
