"""A client that already holds the archive asks with If-None-Match and gets a bodyless 304."""

from __future__ import annotations

from typing import Any

from tests.http.download_support import fetch, finished_job, services_of
from tests.metrics.support import scrape, value


async def test_if_none_match_with_the_archives_etag_answers_304_and_is_counted(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a finished job, downloaded once
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    first = await fetch(client, job_id, alice_headers)
    etag = first.headers["ETag"]
    await first.read()
    before = value(await scrape(client), "vr_download_requests_total", status="304")
    # When the client asks again with the ETag it holds (among others, or weak, or *)
    for held in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = await fetch(client, job_id, alice_headers, **{"If-None-Match": held})
        # Then it is a 304 with the ETag and no body
        assert again.status == 304, held
        assert again.headers["ETag"] == etag
        assert await again.read() == b""
    # And a different ETag gets the whole archive
    other = await fetch(client, job_id, alice_headers, **{"If-None-Match": '"other"'})
    assert other.status == 200 and len(await other.read()) == first.content_length
    # And the download counter counts the 304s
    after = value(await scrape(client), "vr_download_requests_total", status="304")
    assert after == before + 4
