"""`GET /api/jobs/{id}/download`: a resumable, deterministic STORE ZIP from the job view."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
import uuid
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import psutil
import pytest

from service.clock import FixedClock
from service.download import links
from service.events.base import NewEvent
from service.events.job import Expired, ProcessingStarted, job_stream
from service.events.store import ANY
from service.http.app import create_app
from service.http.keys import SERVICES
from service.reactors.file_reactor import FileReactor
from service.reactors.output_reaper import OutputReap
from service.settings import Role, Settings
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


async def test_head_gives_the_same_headers_and_no_body_and_reads_no_output(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job of two 64 MiB outputs (sparse: cheap to make, real to read)
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"a.mp4": 2}, sparse_size=64 * 1024 * 1024
    )
    me = psutil.Process()
    read_before = me.io_counters().read_chars
    # When the download is asked for with HEAD
    head = await client.head(f"/api/jobs/{job_id}/download", headers=alice_headers)
    # Then no body comes, and no output was read to answer it
    assert head.status == 200
    assert await head.read() == b""
    assert me.io_counters().read_chars - read_before < 1024 * 1024
    # And the headers are those of the GET
    get = await fetch(client, job_id, alice_headers)
    get.close()
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
    [("retention", "retention"), ("storage_pressure", "disk"), ("admin", "administrator")],
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


async def test_an_output_missing_at_the_start_is_a_logged_500_before_any_byte(
    client: Any, alice: Any, alice_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job whose second output is no longer on disk
    job_id, outputs = await finished_job(services_of(client), alice.id, {"a.mp4": 2})
    outputs[1].path.unlink()
    # When it is downloaded
    response = await fetch(client, job_id, alice_headers)
    # Then the answer is a JSON 500 (no ZIP byte was sent), and the log names the file
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json())["error"]["code"] == "output_missing"
    assert any(
        getattr(r, "action", None) == "download.output_missing"
        and str(outputs[1].path) in r.getMessage()
        for r in caplog.records
    )


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


async def test_a_resume_in_the_last_entry_reads_none_of_the_earlier_outputs(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job of three 256 MiB outputs (sparse: cheap to make, real to read)
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"a.mp4": 3}, sparse_size=256 * 1024 * 1024
    )
    me = psutil.Process()
    read_before = me.io_counters().read_chars
    # When a client resumes with the last 4 KiB: the end of the last body, its data
    # descriptor and the central directory
    response = await fetch(client, job_id, alice_headers, Range="bytes=-4096")
    tail = await response.read()
    # Then it gets them at once, and the server read only those bytes from disk (this
    # process also counts the client's socket reads: a few KiB, never 512 MiB)
    assert response.status == 206 and len(tail) == 4096
    assert tail[-22:].startswith(zipfile.stringEndArchive)
    assert me.io_counters().read_chars - read_before < 1024 * 1024


async def test_entries_follow_upload_order_then_variation_index_whatever_the_render_order(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a job whose renders were recorded last first
    job_id, _ = await finished_job(
        services_of(client), alice.id, {"zed.mp4": 2, "alpha.mp4": 3}, renders_reversed=True
    )
    # When it is downloaded
    names = zipfile.ZipFile(io.BytesIO(await (await fetch(client, job_id, alice_headers)).read()))
    # Then the folders keep the upload order and the files the variation order
    assert names.namelist() == [
        "zed/zed_var01.mp4", "zed/zed_var02.mp4",
        "alpha/alpha_var01.mp4", "alpha/alpha_var02.mp4", "alpha/alpha_var03.mp4",
    ]  # fmt: skip


async def test_another_instance_in_another_time_zone_serves_the_same_bytes_whatever_the_mtimes(
    aiohttp_client: Any,
    settings: Settings,
    client: Any,
    alice: Any,
    alice_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a job rendered at a known time, downloaded once
    rendered_at = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    job_id, outputs = await finished_job(
        services_of(client), alice.id, {"a.mp4": 2}, rendered_at=rendered_at
    )
    first = await fetch(client, job_id, alice_headers)
    body = await first.read()
    # Then every entry carries the recorded render time (ZIP keeps even seconds)
    for info in zipfile.ZipFile(io.BytesIO(body)).infolist():
        assert info.date_time == (2025, 3, 4, 5, 6, 6)
    # When the files' mtimes change (a copy, a restore) and a second instance, whose
    # local time zone differs, serves the same job
    for output in outputs:
        os.utime(output.path, (1_000_000_000, 1_000_000_000))
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    try:
        other = await aiohttp_client(create_app(settings.model_copy(update={"role": Role.API})))
        second = await fetch(other, job_id, alice_headers)
        # Then it serves the same bytes under the same strong ETag
        assert second.status == 200
        assert await second.read() == body
        assert second.headers["ETag"] == first.headers["ETag"]
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_a_download_under_way_when_the_reaper_deletes_the_outputs_is_cut_short(
    client: Any, alice: Any, alice_headers: dict[str, str]
) -> None:
    # Given a download of three 16 MiB outputs that has begun
    services = services_of(client)
    job_id, outputs = await finished_job(
        services, alice.id, {"a.mp4": 3}, sparse_size=16 * 1024 * 1024
    )
    response = await fetch(client, job_id, alice_headers)
    assert (await response.content.readexactly(1024)).startswith(b"PK")
    # When the job expires and the output reaper deletes its files
    expired = Expired(job_id=job_id, reason="admin", expired_at=services.clock.now())
    result = await services.store.append(job_stream(job_id), [NewEvent.of(expired)], ANY)
    reaper = FileReactor(
        OutputReap(), store=services.store, database=services.database,
        data_dir=services.settings.data_dir,
    )  # fmt: skip
    assert await reaper.attempt(job_id) == ()
    assert not any(output.path.exists() for output in outputs)
    # Then the transfer under way ends short: never a well-formed ZIP missing entries
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    # And a new request is told the job expired
    await services.job_view_waiter.wait_for(result, 10)
    assert (await fetch(client, job_id, alice_headers)).status == 410
