"""`GET /api/jobs/{id}/download`: a resumable, deterministic STORE ZIP from the job view."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
import zipfile
import zlib
from datetime import timedelta
from typing import Any

import aiohttp
import psutil
import pytest

from service.clock import FixedClock
from service.events.base import NewEvent
from service.events.job import Expired, ProcessingStarted, job_stream
from service.events.store import ANY
from service.http.keys import SERVICES
from tests.accounts.support import bearer, log_in, make_user
from tests.builders import upload_received
from tests.http.download_support import finished_job
from tests.support import eventually


def services_of(client: Any) -> Any:
    return client.app[SERVICES]


async def fetch(client: Any, job_id: object, headers: dict[str, str], **extra: str) -> Any:
    return await client.get(f"/api/jobs/{job_id}/download", headers={**headers, **extra})


async def test_a_finished_job_downloads_as_a_store_zip_with_one_folder_per_source(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job of 2 sources x 3 variations, every output on disk
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"summer ad.mp4": 3, "winter.mov": 3}
    )
    # When its owner downloads it
    response = await fetch(client, job_id, alice_headers)
    body = await response.read()
    # Then it is a ZIP Python's zipfile reads, STORE only, one folder per source
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert int(response.headers["Content-Length"]) == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert [i.filename for i in archive.infolist()] == [
        "summer ad/summer ad_var01.mp4", "summer ad/summer ad_var02.mp4",
        "summer ad/summer ad_var03.mp4", "winter/winter_var01.mp4",
        "winter/winter_var02.mp4", "winter/winter_var03.mp4",
    ]  # fmt: skip
    for info, output in zip(archive.infolist(), outputs, strict=True):
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == output.content
        assert zlib.crc32(output.content) == info.CRC
    assert 'filename="summer ad-variations-' in response.headers["Content-Disposition"]
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')


async def test_two_downloads_are_byte_identical_and_share_a_strong_etag(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    first, second = (
        await fetch(client, job_id, alice_headers),
        await fetch(client, job_id, alice_headers),
    )
    assert await first.read() == await second.read()
    assert first.headers["ETag"] == second.headers["ETag"]
    assert not first.headers["ETag"].startswith("W/")


async def test_head_gives_the_same_headers_and_no_body(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    get = await fetch(client, job_id, alice_headers)
    head = await client.head(f"/api/jobs/{job_id}/download", headers=alice_headers)
    assert head.status == 200
    assert await head.read() == b""
    for name in ("Content-Length", "Content-Type", "Content-Disposition", "ETag", "Accept-Ranges"):
        assert head.headers[name] == get.headers[name]


async def test_every_suffix_range_equals_the_same_slice_of_the_full_download(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job and its full archive
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 2, "b.mp4": 1})
    full = await (await fetch(client, job_id, alice_headers)).read()
    archive = zipfile.ZipFile(io.BytesIO(full))
    # Entry boundaries: each local header, each body start and middle, the directory
    starts = set()
    for info in archive.infolist():
        header = info.header_offset
        body = header + 30 + len(info.filename.encode()) + len(info.extra)
        starts |= {header, body, body + info.file_size // 2, body + info.file_size}
    starts |= {0, 1, len(full) - 22, len(full) - 1}
    for start in sorted(starts):
        # When a client asks for bytes=N-
        response = await fetch(client, job_id, alice_headers, Range=f"bytes={start}-")
        # Then it gets exactly that slice, as a 206 with the right Content-Range
        assert response.status == 206, start
        assert await response.read() == full[start:]
        assert response.headers["Content-Range"] == f"bytes {start}-{len(full) - 1}/{len(full)}"
    middle = await fetch(client, job_id, alice_headers, Range="bytes=100-2099")
    assert await middle.read() == full[100:2100]


async def test_a_resumed_download_ends_identical_to_an_uninterrupted_one(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 3}, output_size=50_000)
    full = await fetch(client, job_id, alice_headers)
    etag, whole = full.headers["ETag"], await full.read()
    # Interrupted after some bytes, then resumed as curl -C - / a browser would (If-Range)
    partial = whole[:70_001]
    rest = await fetch(
        client, job_id, alice_headers, Range=f"bytes={len(partial)}-", **{"If-Range": etag}
    )
    assert rest.status == 206
    assert partial + await rest.read() == whole


async def test_a_stale_if_range_gets_the_whole_archive_and_a_range_past_the_end_416(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(services_of(client), alice.id, {"a.mp4": 1})
    full = await fetch(client, job_id, alice_headers)
    size = int(full.headers["Content-Length"])
    stale = await fetch(client, job_id, alice_headers, Range="bytes=10-", **{"If-Range": '"old"'})
    assert stale.status == 200 and len(await stale.read()) == size
    beyond = await fetch(client, job_id, alice_headers, Range=f"bytes={size}-")
    assert beyond.status == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"
    assert (await beyond.json())["error"]["code"] == "range_not_satisfiable"


async def test_results_are_not_ready_before_processing_ends(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    created = upload_received(owner_id=alice.id, received_at=services.clock.now())
    stream = job_stream(created.job_id)
    # Appending both at once: the worker, if any runs, cannot claim it in between
    started = ProcessingStarted(job_id=created.job_id, attempt=1, worker="elsewhere",
                                started_at=services.clock.now())  # fmt: skip
    result = await services.store.append(stream, [NewEvent.of(created), NewEvent.of(started)], 0)
    await services.job_view_waiter.wait_for(result, 10)
    response = await fetch(client, created.job_id, alice_headers)
    assert response.status == 404
    error = (await response.json())["error"]
    assert error["code"] == "not_ready" and "processing" in error["message"]


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


async def test_a_partial_job_downloads_only_the_rendered_entries(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"good.mp4": 2, "bad.mp4": 2},
        outcome="partial", failed_names=("bad.mp4",),
    )  # fmt: skip
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 200
    names = zipfile.ZipFile(io.BytesIO(await response.read())).namelist()
    assert names == ["good/good_var01.mp4", "good/good_var02.mp4"]


async def test_results_are_gone_once_expires_at_passes_even_before_an_expired_event(
    client: Any, clock: FixedClock, alice: Any, alice_headers: dict[str, str]
) -> None:
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1}, retention=timedelta(hours=1))
    clock.advance(timedelta(hours=1, seconds=1))
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 410
    error = (await response.json())["error"]
    assert error["code"] == "expired" and "retention" in error["message"]
    # And after the Expired event, the message says why
    expired = Expired(job_id=job_id, reason="storage_pressure", expired_at=clock.now())
    result = await services.store.append(job_stream(job_id), [NewEvent.of(expired)], ANY)
    await services.job_view_waiter.wait_for(result, 10)
    again = await fetch(client, job_id, alice_headers)
    assert again.status == 410
    assert "disk" in (await again.json())["error"]["message"]


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
    assert (await client.get(f"/api/jobs/{job_id}/download")).status == 401


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


async def test_hostile_and_colliding_names_become_safe_distinct_entries(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    long_name = "é" * 200 + ".mp4"
    names = [
        "../../etc/passwd.mp4",
        "a\\b.mov",
        "bell\x07\nname.mp4",
        "clip.mp4",
        "clip.mp4",
        long_name,
    ]
    job_id, _ = await finished_job(services_of(client), alice.id, [(n, 1) for n in names])
    response = await fetch(client, job_id, alice_headers)
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    entries = archive.namelist()
    assert len(set(entries)) == len(names) == len(entries)
    for entry in entries:
        folder, _file = entry.split("/")
        assert folder not in ("", ".", "..") and not entry.startswith("/")
        assert "\\" not in entry and all(ch.isprintable() for ch in entry)
        assert len(entry.encode()) < 255
    assert entries[:2] == ["passwd/passwd_var01.mp4", "b/b_var01.mp4"]
    assert entries[3:5] == ["clip/clip_var01.mp4", "clip (2)/clip (2)_var01.mp4"]
    utf8 = [i for i in archive.infolist() if not i.filename.isascii()]
    assert utf8 and all(i.flag_bits & 0x800 for i in utf8)


async def test_an_output_missing_at_the_start_is_a_500_before_any_byte(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    outputs[1].path.unlink()
    response = await fetch(client, job_id, alice_headers)
    assert response.status == 500
    assert (await response.json())["error"]["code"] == "output_missing"


async def test_a_file_shrinking_mid_stream_ends_in_a_truncated_transfer(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"a.mp4": 2}, output_size=8 * 1024 * 1024
    )
    response = await fetch(client, job_id, alice_headers)
    first = await response.content.readexactly(1024)
    assert first.startswith(b"PK")
    os.truncate(outputs[1].path, 10)  # the second entry is not read yet
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()


async def test_a_client_that_goes_away_stops_the_reading_and_closes_every_file(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a large output (sparse: cheap to make, real to read)
    services = services_of(client)
    job_id, _ = await finished_job(services, alice.id, {"a.mp4": 1}, sparse_size=256 * 1024 * 1024)
    me = psutil.Process()
    fds_before = me.num_fds()
    read_before = me.io_counters().read_chars
    # When a client reads the first chunk and disconnects
    response = await client.get(f"/api/jobs/{job_id}/download", headers=alice_headers)
    await response.content.readany()
    response.close()
    await asyncio.sleep(0.5)
    # Then the server stopped reading early and closed the file
    read = me.io_counters().read_chars - read_before
    assert read < 64 * 1024 * 1024, read
    await eventually(lambda: me.num_fds() <= fds_before, within=5)
