"""One output on its own: a short-lived presigned redirect from a bucket, the file itself
from the local disk; only for the owner (or an admin) and only while downloadable."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp

from service.http.app import create_app
from service.settings import Role, Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.http.download_support import finished_job, services_of
from tests.storage.jobs import stored_job


async def test_a_single_output_in_a_bucket_is_a_presigned_redirect_that_fetches_it(
    aiohttp_client: Any, s3_settings: Settings, seaweed: Any
) -> None:
    client = await aiohttp_client(create_app(s3_settings.model_copy(update={"role": Role.API})))
    services = services_of(client)
    alice = await make_user(services.database.pool, "alice")
    headers = bearer(await log_in(client, "alice"))
    job_id, outputs = await stored_job(services, alice.id, [5000, 7000])
    job = await services.jobs.get(job_id)
    second = job.outputs[1]
    # When the second output is asked for
    url = f"/api/jobs/{job_id}/files/{second.file_id}/variations/{second.variation_index}"
    response = await client.get(url, headers=headers, allow_redirects=False)
    # Then the answer is a redirect to a signed URL of the store that expires soon
    assert response.status == 307, await response.text()
    location = response.headers["Location"]
    assert location.startswith(seaweed.endpoint) and "X-Amz-Signature" in location
    assert "X-Amz-Expires=120" in urlsplit(location).query
    # And following it without any credentials gives the object's bytes
    async with aiohttp.ClientSession() as anonymous, anonymous.get(location) as fetched:
        assert fetched.status == 200 and await fetched.read() == outputs[1].content
    # And another user gets a 404, as for an unknown job
    await make_user(services.database.pool, "bob")
    bob = bearer(await log_in(client, "bob"))
    assert (await client.get(url, headers=bob, allow_redirects=False)).status == 404


async def test_a_single_output_on_the_local_disk_is_sent_with_its_archive_name(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(services_of(client), alice.id, {"summer.mp4": 2})
    job = await services_of(client).jobs.get(job_id)
    first = job.outputs[0]
    url = f"/api/jobs/{job_id}/files/{first.file_id}/variations/{first.variation_index}"
    shown = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    assert shown["outputs"][0]["download"] == url  # the job view links each output
    response = await client.get(url, headers=alice_headers)
    assert response.status == 200 and await response.read() == outputs[0].content
    assert "summer_var01.mp4" in response.headers["Content-Disposition"]
    missing = f"/api/jobs/{job_id}/files/{first.file_id}/variations/9"
    assert (await client.get(missing, headers=alice_headers)).status == 404
