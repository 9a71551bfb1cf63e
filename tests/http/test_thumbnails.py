"""The thumbnails of sources and variations: JPEGs with a strong ETag and a year's cache
life, under the download's availability rules."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from service.clock import FixedClock
from tests.accounts.support import bearer, log_in, make_user
from tests.http.download_support import finished_job, services_of


@pytest.fixture
async def bob_headers(client: Any, app_pool: Any) -> dict[str, str]:
    await make_user(app_pool, "bob")
    return bearer(await log_in(client, "bob"))


def url(job_id: object, output: Any) -> str:
    return f"/api/jobs/{job_id}/outputs/{output.file_id}/{output.index}/thumbnail"


async def test_thumbnails_follow_the_downloads_availability(
    client: Any, alice: Any, alice_headers: dict[str, str], bob_headers: dict[str, str],
    clock: FixedClock,
) -> None:  # fmt: skip
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"ad.mp4": 1}, thumbnails=True, retention=timedelta(hours=1)
    )
    source = f"/api/jobs/{job_id}/files/{outputs[0].file_id}/thumbnail"
    paths = [source, url(job_id, outputs[0])]
    # another user's: 404 like an unknown job; an unknown variation: 404
    for path in paths:
        assert (await client.get(path, headers=bob_headers)).status == 404
    missing = f"/api/jobs/{job_id}/outputs/{outputs[0].file_id}/9/thumbnail"
    assert (await client.get(missing, headers=alice_headers)).status == 404
    # past its expiry: 410, as the ZIP
    clock.advance(timedelta(hours=2))
    for path in paths:
        response = await client.get(path, headers=alice_headers)
        assert response.status == 410, path
        assert (await response.json())["error"]["code"] == "expired"


async def test_thumbnails_are_served_while_the_job_still_renders(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"ad.mp4": 2}, thumbnails=True, finish=False
    )
    job = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    assert job["status"] == "processing"
    # the ZIP waits for the end
    zip_answer = await client.get(f"/api/jobs/{job_id}/download", headers=alice_headers)
    assert zip_answer.status == 404
    # the thumbnails the job view names are there as soon as recorded
    named = [job["sources"][0]["thumbnail"], *(o["thumbnail"] for o in job["outputs"])]
    assert len(named) == 3 and all(named)
    for path in named:
        response = await client.get(path, headers=alice_headers)
        assert response.status == 200, path
        assert (await response.read()).startswith(b"\xff\xd8")


async def test_thumbnails_are_jpegs_with_a_strong_etag_and_a_long_cache_life(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"ad.mp4": 2}, thumbnails=True
    )
    job = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    source = job["sources"][0]["thumbnail"]
    variation = job["outputs"][1]["thumbnail"]
    assert source == f"/api/jobs/{job_id}/files/{outputs[0].file_id}/thumbnail"
    assert variation == url(job_id, outputs[1])
    for path in (source, variation):
        response = await client.get(path, headers=alice_headers)
        body = await response.read()
        assert response.status == 200 and response.content_type == "image/jpeg"
        assert body[:3] == b"\xff\xd8\xff"
        assert response.headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        assert "max-age=31536000" in response.headers["Cache-Control"]
        cached = await client.get(
            path, headers={**alice_headers, "If-None-Match": response.headers["ETag"]}
        )
        assert cached.status == 304


async def test_a_job_recorded_before_thumbnails_existed_shows_none(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(services_of(client), alice.id, {"ad.mp4": 1})
    job = await (await client.get(f"/api/jobs/{job_id}", headers=alice_headers)).json()
    assert job["sources"][0]["thumbnail"] is None and job["outputs"][0]["thumbnail"] is None
    response = await client.get(url(job_id, outputs[0]), headers=alice_headers)
    assert response.status == 404
