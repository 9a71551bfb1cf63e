"""`POST /api/jobs/{id}/cancel`: a received job ends at once, a processing one is asked to
stop, a finished one is refused, a repeat changes nothing; only owners and admins may."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from service.events.job import ProcessingFinished, job_stream
from service.http.keys import SERVICES
from tests import builders
from tests.accounts.support import bearer, log_in, make_user
from tests.http.test_jobs_views import record


async def history(client: Any, job_id: uuid.UUID) -> list[Any]:
    return await client.app[SERVICES].store.read_stream(job_stream(job_id))


@pytest.fixture
async def bob_headers(client: Any, app_pool: Any) -> dict[str, str]:
    await make_user(app_pool, "bob")
    return bearer(await log_in(client, "bob"))


async def test_a_received_job_is_cancelled_at_once(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job nobody has claimed yet
    job_id = await record(client, builders.upload_received(owner_id=alice.id))
    # When its owner cancels it
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    job = await response.json()
    # Then it is cancelled now, and the log says who asked and that it ended
    assert response.status == 200, job
    assert job["status"] == "cancelled" and job["outcome"] == "cancelled"
    assert job["cancel_requested_at"] is not None
    events = await history(client, job_id)
    assert [e.type for e in events] == [
        "UploadReceived",
        "CancellationRequested",
        "ProcessingFinished",
    ]
    assert events[1].event.requested_by == str(alice.id)
    assert events[2].event.outcome == "cancelled"
    # And a GET shows the same at once (read-your-writes)
    shown = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    assert shown["status"] == "cancelled"


async def test_a_processing_job_is_asked_to_stop_and_a_repeat_is_idempotent(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job a worker has claimed
    upload = builders.upload_received(owner_id=alice.id)
    job_id = await record(client, upload, builders.processing_started(upload.job_id))
    # When its owner cancels it twice
    first = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    second = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    # Then the first is accepted (the worker stops it) and the second shows the job as it is
    assert first.status == 202 and (await first.json())["status"] == "cancelling"
    assert second.status == 200 and (await second.json())["status"] == "cancelling"
    # And the log holds one request and no finish (that is the worker's to write)
    assert [e.type for e in await history(client, job_id)] == [
        "UploadReceived",
        "ProcessingStarted",
        "CancellationRequested",
    ]


async def test_a_cancelled_job_cancelled_again_answers_200_unchanged(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    upload = builders.upload_received(owner_id=alice.id)
    job_id = await record(
        client,
        upload,
        builders.processing_started(upload.job_id),
        builders.cancellation_requested(upload.job_id),
        builders.processing_finished(upload.job_id, "cancelled"),
    )
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    assert response.status == 200 and (await response.json())["status"] == "cancelled"
    assert len(await history(client, job_id)) == 4


@pytest.mark.parametrize("outcome", ["completed", "partial", "failed"])
async def test_a_finished_job_is_not_cancellable_and_the_error_names_its_status(
    client: Any, alice: Any, alice_headers: dict[str, str], outcome: str
) -> None:
    upload = builders.upload_received(owner_id=alice.id)
    job_id = await record(
        client,
        upload,
        builders.processing_started(upload.job_id),
        builders.processing_finished(upload.job_id, outcome),  # type: ignore[arg-type]
    )
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    body = await response.json()
    assert response.status == 409, body
    assert body["error"]["code"] == "not_cancellable"
    assert body["error"]["job_status"] == outcome and outcome in body["error"]["message"]
    assert len(await history(client, job_id)) == 3


async def test_an_expired_job_is_not_cancellable(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    upload = builders.upload_received(owner_id=alice.id)
    job_id = await record(
        client,
        upload,
        builders.processing_finished(upload.job_id, "failed"),
        builders.expired(upload.job_id),
    )
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    assert response.status == 409
    assert (await response.json())["error"]["job_status"] == "expired"


async def test_only_the_owner_or_an_admin_may_cancel(
    client: Any, app_pool: Any, alice: Any, bob_headers: dict[str, str]
) -> None:
    # Given alice's received job
    job_id = await record(client, builders.upload_received(owner_id=alice.id))
    # Then bob gets the 404 of an unknown job, and no token gets 401
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=bob_headers)
    unknown = await client.post(f"/api/jobs/{uuid.uuid4()}/cancel", headers=bob_headers)
    assert response.status == unknown.status == 404
    assert await response.json() == await unknown.json()
    assert (await client.post(f"/api/jobs/{job_id}/cancel")).status == 401
    assert [e.type for e in await history(client, job_id)] == ["UploadReceived"]
    # And an admin may
    await make_user(app_pool, "root", admin=True)
    admin = bearer(await log_in(client, "root"))
    response = await client.post(f"/api/jobs/{job_id}/cancel", headers=admin)
    assert response.status == 200 and (await response.json())["status"] == "cancelled"


async def test_a_cancelled_job_without_outputs_has_nothing_to_download(
    client: Any, alice: Any, alice_headers: dict[str, str], clock: Any
) -> None:
    upload = builders.upload_received(owner_id=alice.id, received_at=clock.now())
    job_id = await record(client, upload)
    await client.post(f"/api/jobs/{job_id}/cancel", headers=alice_headers)
    response = await client.get(f"/api/jobs/{job_id}/download", headers=alice_headers)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "no_outputs"
    assert ProcessingFinished.TYPE in [e.type for e in await history(client, job_id)]
