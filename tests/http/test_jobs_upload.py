"""`POST /api/jobs`: videos streamed to disk under ids, sniffed by content, limits enforced,
and a failed upload leaves no file and no event."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from service.events.job import UploadReceived, job_stream
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Settings
from tests.accounts.support import bearer, log_in, make_user
from tests.clips import TinyClips, make_clip
from tests.http.upload_support import (
    FTYP_MP4,
    assert_nothing_left,
    event_count,
    field,
    left_on_disk,
    multipart,
    video,
)
from tests.support import eventually, record_fsyncs


async def test_a_two_file_upload_is_stored_under_ids_and_recorded_once(
    client: Any, alice: Any, alice_headers: dict[str, str], settings: Settings,
    tiny_clips: TinyClips,
) -> None:  # fmt: skip
    # Given two real clips, with the variations field after the files
    body, headers = multipart(
        video("summer ad.mp4", tiny_clips.mp4),
        video("../../etc/winter.mov", tiny_clips.mov),
        field("variations", "3"),
    )
    # When they are uploaded
    response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
    created = await response.json()
    # Then the answer is 202 with the job, its files (the user's names) and links
    assert response.status == 202, created
    job_id = created["job_id"]
    assert created["status"] == "received" and created["variations_per_video"] == 3
    assert [f["name"] for f in created["files"]] == ["summer ad.mp4", "winter.mov"]
    assert created["links"] == {
        "self": f"/api/jobs/{job_id}",
        "download": f"/api/jobs/{job_id}/download",
        "events": f"/api/jobs/{job_id}/events",
        "cancel": f"/api/jobs/{job_id}/cancel",
        "live": f"/api/jobs/{job_id}/live",
    }
    # And each file is on disk as uploads/<job>/<file-id><ext from content>, bytes intact
    stored = left_on_disk(settings)
    expected = {
        settings.uploads_dir / job_id / f"{created['files'][0]['id']}.mp4": tiny_clips.mp4,
        settings.uploads_dir / job_id / f"{created['files'][1]['id']}.mov": tiny_clips.mov,
    }
    assert stored == sorted([settings.uploads_dir / job_id, *expected])
    for path, source in expected.items():
        assert path.read_bytes() == source.read_bytes()
    # And exactly one UploadReceived records sizes, hashes, owner and who did it
    services = client.app[SERVICES]
    events = await services.store.read_stream(job_stream(uuid.UUID(job_id)))
    assert [e.type for e in events] == ["UploadReceived"] and await event_count(
        services.database.pool
    ) == 1
    event = events[0].event
    assert isinstance(event, UploadReceived) and event.owner_id == alice.id
    for stored_file, source in zip(event.files, expected.values(), strict=True):
        assert stored_file.size == source.stat().st_size
        assert stored_file.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert (event.expires_at - event.received_at).total_seconds() == settings.retention_s
    assert events[0].metadata.actor == "alice"
    assert events[0].metadata.correlation_id == job_id and events[0].metadata.request_id
    # And an immediate GET sees the job
    shown = await client.get(f"/api/jobs/{job_id}", headers=alice_headers)
    assert shown.status == 200 and (await shown.json())["status"] == "received"


async def test_stored_uploads_are_forced_to_disk_and_closed_before_the_job_is_recorded(
    client: Any, alice_headers: dict[str, str], settings: Settings, tiny_clips: TinyClips,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Given a record of every file and folder fsynced
    synced = record_fsyncs(monkeypatch)
    # When two clips are uploaded
    body, headers = multipart(video("a.mp4", tiny_clips.mp4), video("b.mov", tiny_clips.mov))
    response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
    created = await response.json()
    assert response.status == 202, created
    # Then each file was fsynced under its temporary name, renamed, and the job's folder
    # fsynced after it (storage/disk.py writes whole objects or none)
    job_dir = settings.uploads_dir / created["job_id"]
    files = sorted(str(p.resolve()) for p in job_dir.iterdir())
    assert len(synced) == 4 and synced[1] == synced[3] == str(job_dir.resolve())
    temporaries = sorted([Path(synced[0]).name, Path(synced[2]).name])
    assert all(t.startswith(f"~{Path(f).name}.") for t, f in zip(temporaries, files, strict=True))
    # And no stored upload is still open in the server
    open_now = {f.path for f in psutil.Process().open_files()}
    assert not any(path in open_now for path in files)


async def test_variations_default_to_five_and_may_come_first(
    client: Any, alice_headers: dict[str, str]
) -> None:
    for parts in ([video("a.mp4", FTYP_MP4)], [field("variations", "7"), video("a.mp4", FTYP_MP4)]):
        body, headers = multipart(*parts)
        response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
        assert response.status == 202
    listed = await (await client.get("/api/jobs", headers=alice_headers)).json()
    assert sorted(j["variations_per_video"] for j in listed["jobs"]) == [5, 7]


async def test_uploads_need_a_token(client: Any, settings: Settings, app_pool: Any) -> None:
    body, headers = multipart(video("a.mp4", FTYP_MP4))
    response = await client.post("/api/jobs", data=body, headers=headers)
    assert response.status == 401
    await assert_nothing_left(settings, app_pool)


@pytest.mark.parametrize(
    ("parts", "field_name"),
    [
        ([field("variations", "3")], "videos"),
        ([video("a.mp4", FTYP_MP4), field("variations", "zero")], "variations"),
        ([video("a.mp4", FTYP_MP4), field("variations", "0")], "variations"),
        ([video("a.mp4", FTYP_MP4), field("variations", "21")], "variations"),
        ([video("a.mp4", FTYP_MP4), field("variations", "1" * 40)], "variations"),
        ([video("a.mp4", FTYP_MP4), field("colour", "red")], "colour"),
    ],
)
async def test_missing_or_malformed_fields_answer_400_and_leave_nothing(
    client: Any,
    alice_headers: dict[str, str],
    settings: Settings,
    app_pool: Any,
    parts: list[Any],
    field_name: str,
) -> None:
    body, headers = multipart(*parts)
    response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
    error = (await response.json())["error"]
    assert response.status == 400, error
    assert error["field"] == field_name
    await assert_nothing_left(settings, app_pool)


async def test_a_body_that_is_not_multipart_answers_400(
    client: Any, alice_headers: dict[str, str], settings: Settings, app_pool: Any
) -> None:
    for data, content_type in ((b"{}", "application/json"), (b"x", "multipart/form-data")):
        response = await client.post(
            "/api/jobs", data=data, headers={**alice_headers, "Content-Type": content_type}
        )
        assert response.status == 400
    await assert_nothing_left(settings, app_pool)


async def test_content_that_is_not_mp4_or_mov_answers_415_naming_the_file(
    client: Any,
    alice_headers: dict[str, str],
    settings: Settings,
    app_pool: Any,
    tiny_clips: TinyClips,
    ffmpeg: str,
    tmp_path: Path,
) -> None:
    wav = make_clip(ffmpeg, tmp_path / "tone.wav", "-f", "lavfi", "-i", "sine=duration=0.2")
    for name, content in (("notes.mp4", tiny_clips.text), ("tone.mp4", wav), ("tiny.mp4", b"ftyp")):
        # Given a good video first, so a half-stored job has to be cleaned up
        body, headers = multipart(video("good.mp4", tiny_clips.mp4), video(name, content))
        response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
        error = (await response.json())["error"]
        assert response.status == 415, error
        assert error["code"] == "unsupported_media_type" and error["file"] == name
        assert name in error["message"]
        await assert_nothing_left(settings, app_pool)


@pytest.fixture
async def limited(aiohttp_client: Any, settings: Settings) -> tuple[Any, dict[str, str]]:
    """A client for an app that takes 2 files of at most 4 KiB."""
    strict = settings.model_copy(update={"max_upload_bytes": 4096, "max_files_per_job": 2})
    client = await aiohttp_client(create_app(strict))
    await make_user(client.app[SERVICES].database.pool, "alice")
    return client, bearer(await log_in(client, "alice"))


async def test_a_file_over_the_size_limit_answers_413_naming_it(
    limited: tuple[Any, dict[str, str]], settings: Settings
) -> None:
    client, auth = limited
    exactly = FTYP_MP4 + b"\0" * (4096 - len(FTYP_MP4))
    body, headers = multipart(video("fits.mp4", exactly), video("big.mp4", exactly + b"\0"))
    response = await client.post("/api/jobs", data=body, headers={**auth, **headers})
    error = (await response.json())["error"]
    assert response.status == 413, error
    assert error["code"] == "file_too_large" and error["file"] == "big.mp4"
    await assert_nothing_left(settings, client.app[SERVICES].database.pool)


async def test_too_many_files_answers_413(
    limited: tuple[Any, dict[str, str]], settings: Settings
) -> None:
    client, auth = limited
    body, headers = multipart(*(video(f"{i}.mp4", FTYP_MP4) for i in range(3)))
    response = await client.post("/api/jobs", data=body, headers={**auth, **headers})
    error = (await response.json())["error"]
    assert response.status == 413 and error["code"] == "too_many_files"
    assert error["field"] == "videos"
    await assert_nothing_left(settings, client.app[SERVICES].database.pool)


async def test_an_upload_that_would_eat_the_disk_reserve_answers_507_before_reading(
    aiohttp_client: Any, settings: Settings
) -> None:
    # Given a reserve larger than any disk (the override stands in for a full disk)
    reserved = settings.model_copy(update={"upload_reserve_bytes": 2**60})
    client = await aiohttp_client(create_app(reserved))
    pool = client.app[SERVICES].database.pool
    await make_user(pool, "alice")
    auth = bearer(await log_in(client, "alice"))
    body, headers = multipart(video("a.mp4", FTYP_MP4))
    response = await client.post("/api/jobs", data=body, headers={**auth, **headers})
    error = (await response.json())["error"]
    assert response.status == 507 and error["code"] == "insufficient_storage"
    await assert_nothing_left(settings, pool)


@pytest.fixture
def tiny_disk(settings: Settings) -> Any:
    """A 1 MiB tmpfs mounted where uploads go. Needs root, as the suite runs (CI too):
    without it the test fails, saying why, rather than skip."""
    mount_point = settings.uploads_dir
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {mount_point}: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


async def test_a_disk_that_fills_mid_upload_answers_507_and_keeps_nothing(
    client: Any, alice_headers: dict[str, str], settings: Settings, app_pool: Any, tiny_disk: Path
) -> None:
    # Given a 2 MiB video sent chunked (no Content-Length, so nothing is known up front)
    body, headers = multipart(video("huge.mp4", FTYP_MP4 + b"\1" * 2 * 2**20))

    async def chunked() -> Any:
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    # When it is uploaded to the 1 MiB disk
    response = await client.post("/api/jobs", data=chunked(), headers={**alice_headers, **headers})
    error = (await response.json())["error"]
    # Then the answer is 507 naming the file, and the partial file is gone
    assert response.status == 507, error
    assert error["file"] == "huge.mp4"
    await assert_nothing_left(settings, app_pool)
    # And a declared Content-Length the disk cannot hold is refused before any byte is read
    response = await client.post("/api/jobs", data=body, headers={**alice_headers, **headers})
    assert response.status == 507
    await assert_nothing_left(settings, app_pool)


async def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    client: Any, alice_headers: dict[str, str], settings: Settings, app_pool: Any
) -> None:
    # Given a request promising 8 MiB of video, of which 3 MiB are sent
    body, headers = multipart(video("a.mp4", FTYP_MP4 + b"\2" * 8 * 2**20))
    head = (
        f"POST /api/jobs HTTP/1.1\r\nHost: test\r\nContent-Type: {headers['Content-Type']}\r\n"
        f"Authorization: {alice_headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    _reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head + body[: 3 * 2**20])
    await writer.drain()
    # And the server has started writing the file
    await eventually(lambda: any(p.is_file() for p in left_on_disk(settings)))
    # When the client goes away
    writer.close()
    await writer.wait_closed()
    # Then the server removes everything and records nothing
    await eventually(lambda: left_on_disk(settings) == [])
    assert await event_count(app_pool) == 0
