"""Who may download what, and when: decided from the job view alone; signed links stand in
for a bearer token for one job and one user, for a short time."""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from service.clock import FixedClock
from service.download import links
from service.events.base import NewEvent
from service.events.job import Expired, ProcessingStarted, job_stream
from service.events.store import ANY
from service.http.app import create_app
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.builders import upload_received
from tests.http.download_support import fetch, finished_job, services_of


async def test_results_are_not_ready_while_received_or_processing(
    aiohttp_client: Any, settings: Settings
) -> None:
    # Given an API-only instance: no worker here may claim the job between the checks
    client = await aiohttp_client(create_app(settings.model_copy(update={"role": Role.API})))
    services = services_of(client)
    carol = await make_user(services.database.pool, "carol")
    headers = bearer(await log_in(client, "carol"))
    # And a job just received
    created = upload_received(owner_id=carol.id, received_at=services.clock.now())
    stream = job_stream(created.job_id)
    result = await services.store.append(stream, [NewEvent.of(created)], 0)
    await services.job_view_waiter.wait_for(result, 10)
    # When its owner asks for the download / Then it is not ready, and says it is received
    response = await fetch(client, created.job_id, headers)
    error = (await response.json())["error"]
    assert response.status == 404
    assert error["code"] == "not_ready" and "received" in error["message"], error
    # Given a worker then claims it
    started = ProcessingStarted(job_id=created.job_id, attempt=1, worker="elsewhere",
                                started_at=services.clock.now())  # fmt: skip
    result = await services.store.append(stream, [NewEvent.of(started)], 1)
    await services.job_view_waiter.wait_for(result, 10)
    # Then it is still not ready, and says it is processing
    response = await fetch(client, created.job_id, headers)
    error = (await response.json())["error"]
    assert response.status == 404
    assert error["code"] == "not_ready" and "processing" in error["message"], error


async def test_a_failed_job_without_outputs_answers_no_outputs(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"bad.mp4": 2}, outcome="failed", failed_names=("bad.mp4",)
    )
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 404
    error = (await response.json())["error"]
    assert error["code"] == "no_outputs" and "failed" in error["message"]


async def test_a_partial_job_downloads_only_the_rendered_entries_the_log_lists(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a partial job, and files on disk the log never recorded (a crashed render's
    # leftover next to the outputs, a stray in the failed source's folder)
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"good.mp4": 2, "bad.mp4": 2},
        outcome="partial", failed_names=("bad.mp4",),
    )  # fmt: skip
    (outputs[0].path.parent / "03.mp4").write_bytes(b"half-rendered")
    (outputs[0].path.parent.parent / "bad" / "01.mp4").parent.mkdir()
    (outputs[0].path.parent.parent / "bad" / "01.mp4").write_bytes(b"stray")
    # When it is downloaded / Then the ZIP holds exactly the rendered outputs of the log
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 200
    names = zipfile.ZipFile(io.BytesIO(await response.read())).namelist()
    assert names == ["good/good_var01.mp4", "good/good_var02.mp4"]


async def test_results_are_gone_once_expires_at_passes_even_before_an_expired_event(
    client: Any, clock: FixedClock, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1}, retention=timedelta(hours=1))
    expires_at = services_of(client).clock.now() + timedelta(hours=1)
    clock.advance(timedelta(hours=1, seconds=1))
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 410
    error = (await response.json())["error"]
    assert error["code"] == "expired" and "retention" in error["message"]
    assert expires_at.isoformat() in error["message"]  # when


@pytest.mark.parametrize(
    ("reason", "words"),
    [("retention", "retention"), ("storage_pressure", "storage"), ("admin", "administrator")],
)
async def test_after_an_expired_event_the_410_says_when_and_why(
    client: Any, alice: Any, alice_headers: dict[str, str], reason: str, words: str
) -> None:
    # Given a job expired early (before its expires_at) for `reason`
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1})
    expired_at = services.clock.now().replace(microsecond=0)
    expired = Expired(job_id=job_id, reason=reason, expired_at=expired_at)  # type: ignore[arg-type]
    result = await services.store.append(job_stream(job_id), [NewEvent.of(expired)], ANY)
    await services.job_view_waiter.wait_for(result, 10)
    # When its owner asks for the download
    response = await fetch(client, job_id, alice_headers)
    # Then it is gone, and the message names the expiry's time and its reason
    error = (await response.json())["error"]
    assert response.status == 410 and error["code"] == "expired"
    assert expired_at.isoformat() in error["message"] and words in error["message"], error


async def test_another_users_job_a_malformed_id_and_no_token_reveal_nothing(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    await make_user(services.database.pool, "bob")
    bob = bearer(await log_in(client, "bob"))
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1})
    theirs = await fetch(client, job_id, bob)
    unknown = await fetch(client, uuid.uuid4(), bob)
    malformed = await client.get("/api/jobs/not-a-uuid/download", headers=bob)
    assert theirs.status == unknown.status == malformed.status == 404
    assert await theirs.json() == await unknown.json()
    assert (await unknown.json())["error"]["code"] == "not_found"
    assert (await client.get(f"/api/jobs/{job_id}/download")).status == 401
    # And an admin, who may see every job, downloads it
    await make_user(services.database.pool, "root", admin=True)
    admin = await fetch(client, job_id, bearer(await log_in(client, "root")))
    assert admin.status == 200
    assert zipfile.ZipFile(io.BytesIO(await admin.read())).testzip() is None


async def test_a_download_link_works_without_a_header_until_it_expires_and_only_for_its_job(
    client: Any, clock: FixedClock, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1})
    other_id, _ = await finished_job(services, alice.id, {"b.mp4": 1})
    made = await client.post(f"/api/jobs/{job_id}/download-link", headers=alice_headers)
    assert made.status == 200
    link = await made.json()
    url = aiohttp.client.URL(link["url"])
    assert datetime.fromisoformat(link["expires_at"]) == clock.now() + timedelta(minutes=15)
    # A plain fetch, no Authorization header
    plain = await client.get(url.path_qs)
    assert plain.status == 200
    assert zipfile.ZipFile(io.BytesIO(await plain.read())).testzip() is None
    # The same token for another job is useless
    other = await client.get(f"/api/jobs/{other_id}/download?{url.query_string}")
    assert other.status == 401
    # And after 15 minutes the link is dead
    clock.advance(timedelta(minutes=15, seconds=1))
    late = await client.get(url.path_qs)
    assert late.status == 401
    assert (await late.json())["error"]["code"] == "invalid_link"


async def test_a_forged_or_tampered_download_link_is_refused(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a genuine link for one of alice's jobs, and another job of hers
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1})
    other_id, _ = await finished_job(services, alice.id, {"b.mp4": 1})
    made = await (
        await client.post(f"/api/jobs/{job_id}/download-link", headers=alice_headers)
    ).json()
    token = aiohttp.client.URL(made["url"]).query["link"]
    payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    def reissued(**changes: object) -> str:
        """The genuine signature on an edited payload."""
        edited = json.dumps({**fields, **changes}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(edited).rstrip(b"=").decode() + "." + signature

    later = datetime.now(UTC) + timedelta(days=30)
    forged = {
        "moved to another job": (other_id, reissued(j=str(other_id))),
        "expiry pushed back": (job_id, reissued(e=int(later.timestamp()))),
        "signed with another key": (
            job_id,
            links.sign(os.urandom(32), links.LinkGrant(job_id, alice.id, later)),
        ),
        "signature cut": (job_id, payload + "."),
        "not a token": (job_id, "garbage"),
    }
    for how, (target, token) in forged.items():
        # When it is used without a header / Then it is refused, revealing nothing
        response = await client.get(f"/api/jobs/{target}/download", params={"link": token})
        assert response.status == 401, how
        assert (await response.json())["error"]["code"] == "invalid_link", how
    # And nobody gets a link to a job they may not see
    await make_user(services.database.pool, "mallory")
    mallory = bearer(await log_in(client, "mallory"))
    refused = await client.post(f"/api/jobs/{job_id}/download-link", headers=mallory)
    assert refused.status == 404
