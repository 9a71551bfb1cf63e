"""`GET /api/jobs/{id}/download`: a deterministic STORE ZIP of the job's outputs, one folder
per source, named safely, with the same bytes and ETag on every request and instance."""

from __future__ import annotations

import io
import os
import time
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

import psutil
import pytest

from service.http.app import create_app
from service.settings import Role, Settings
from tests.http.download_support import fetch, finished_job, services_of


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
