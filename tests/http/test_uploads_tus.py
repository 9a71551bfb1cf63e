"""The tus 1.0 endpoint at /api/uploads: discovery, creation, offsets, termination, and
each refusal with its status and JSON body."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from service.settings import Settings
from tests.http.tus_support import (
    OCTETS,
    TUS,
    assert_error,
    create,
    metadata,
    new_upload,
    offset_of,
    patch,
    sha256,
    stored,
    video_bytes,
)


async def test_options_announces_version_extensions_limit_and_checksums(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    response = await client.options("/api/uploads", headers=alice_headers)
    assert response.status == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == (
        "creation,creation-with-upload,termination,expiration,checksum"
    )
    assert response.headers["Tus-Max-Size"] == str(settings.max_upload_bytes)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


async def test_an_upload_is_created_patched_in_pieces_and_stored_under_our_name(
    client: Any, alice_headers: dict[str, str], settings: Settings, app_pool: Any
) -> None:
    # Given a new upload of 300 KiB named by the user "../../etc/passwd"
    data = video_bytes(300 * 1024)
    response = await create(
        client, alice_headers, len(data), headers={"Upload-Metadata": metadata("../../etc/passwd")}
    )
    assert response.status == 201
    location = response.headers["Location"]
    assert location.startswith("/api/uploads/")
    expires = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert expires.tzinfo is not None
    # When it arrives in three PATCHes
    offset = 0
    for size in (1000, 200_000, len(data) - 201_000):
        answer = await patch(client, alice_headers, location, offset, data[offset : offset + size])
        assert answer.status == 204, await answer.text()
        offset += size
        assert answer.headers["Upload-Offset"] == str(offset)
        assert "Upload-Expires" in answer.headers
    # Then HEAD reports it complete, uncacheable, with its metadata
    head = await client.head(location, headers={**alice_headers, **TUS})
    assert head.status == 200
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Cache-Control"] == "no-store"
    assert "Upload-Expires" in head.headers
    # And the bytes are on disk under the upload's id, never the user's name
    path = stored(settings, location)
    assert path.read_bytes() == data
    assert list(settings.tus_dir.iterdir()) == [path]
    row = await app_pool.fetchrow("SELECT * FROM tus_uploads")
    assert row["filename"] == "passwd" and row["extension"] == ".mp4"
    assert row["sha256"] == sha256(data)


async def test_creation_with_upload_stores_the_first_bytes_at_once(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    data = video_bytes(100_000)
    response = await create(client, alice_headers, len(data), data=data[:70_000], headers=OCTETS)
    assert response.status == 201, await response.text()
    assert response.headers["Upload-Offset"] == "70000"
    location = response.headers["Location"]
    assert await offset_of(client, alice_headers, location) == 70_000
    assert stored(settings, location).read_bytes() == data[:70_000]


async def test_delete_terminates_the_upload_and_its_bytes(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    location = await new_upload(client, alice_headers, 100_000)
    await patch(client, alice_headers, location, 0, video_bytes(100_000)[:50_000])
    response = await client.delete(location, headers={**alice_headers, **TUS})
    assert response.status == 204
    assert not stored(settings, location).exists()
    head = await client.head(location, headers={**alice_headers, **TUS})
    assert head.status == 404


async def test_every_request_needs_a_token(client: Any, alice_headers: dict[str, str]) -> None:
    location = await new_upload(client, alice_headers, 1000)
    for method, path in (
        ("OPTIONS", "/api/uploads"),
        ("POST", "/api/uploads"),
        ("HEAD", location),
        ("PATCH", location),
        ("DELETE", location),
    ):
        response = await client.request(method, path, headers={**TUS, "Upload-Length": "1000"})
        assert response.status == 401, method
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_another_users_upload_is_404_like_an_unknown_one(
    client: Any, alice_headers: dict[str, str], app_pool: Any, settings: Settings
) -> None:
    from tests.accounts.support import bearer, log_in, make_user

    await make_user(app_pool, "mallory")
    mallory = bearer(await log_in(client, "mallory"))
    location = await new_upload(client, alice_headers, 1000)
    unknown = "/api/uploads/00000000-0000-4000-8000-000000000000"
    for path in (location, unknown, "/api/uploads/not-a-uuid"):
        response = await patch(client, mallory, path, 0, b"x" * 10)
        await assert_error(response, 404, "not_found")
        response = await client.delete(path, headers={**mallory, **TUS})
        await assert_error(response, 404, "not_found")
        head = await client.head(path, headers={**mallory, **TUS})
        assert head.status == 404
    assert stored(settings, location).exists()


@pytest.mark.parametrize("version", [None, "0.2.2", "2.0.0"])
async def test_a_missing_or_unsupported_tus_version_is_412_with_the_version_we_speak(
    client: Any, alice_headers: dict[str, str], version: str | None
) -> None:
    headers = {**alice_headers, "Upload-Length": "1000", "Upload-Metadata": metadata()}
    if version is not None:
        headers["Tus-Resumable"] = version
    response = await client.post("/api/uploads", headers=headers)
    await assert_error(response, 412, "tus_version_unsupported", field="Tus-Resumable")
    assert response.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Upload-Length": None}, "Upload-Length"),
        ({"Upload-Length": "-1"}, "Upload-Length"),
        ({"Upload-Length": "ten"}, "Upload-Length"),
        ({"Upload-Metadata": None}, "Upload-Metadata"),
        ({"Upload-Metadata": "filetype dmlkZW8vbXA0"}, "Upload-Metadata"),
        ({"Upload-Metadata": "filename !!notbase64"}, "Upload-Metadata"),
        ({"Upload-Metadata": "filename " + base64.b64encode(b"\xff").decode()}, "Upload-Metadata"),
    ],
)
async def test_a_missing_or_invalid_length_or_metadata_is_400_naming_the_header(
    client: Any, alice_headers: dict[str, str], headers: dict[str, str | None], field: str
) -> None:
    sent = {**alice_headers, **TUS, "Upload-Length": "1000", "Upload-Metadata": metadata()}
    sent.update(headers)  # type: ignore[arg-type]
    sent = {k: v for k, v in sent.items() if v is not None}
    response = await client.post("/api/uploads", headers=sent)
    await assert_error(response, 400, "bad_request", field=field)


async def test_a_length_over_the_limit_is_413(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    response = await create(client, alice_headers, settings.max_upload_bytes + 1)
    await assert_error(response, 413, "upload_too_large", field="Upload-Length")


async def test_a_length_that_would_eat_the_disk_reserve_is_507(
    aiohttp_client: Any, settings: Settings, clock: Any, app_pool: Any
) -> None:
    import shutil

    from service.http.app import create_app
    from tests.accounts.support import bearer, log_in, make_user

    free = shutil.disk_usage(settings.data_dir).free
    # the reserve is all the free space: any length eats into it (others' files may come
    # and go meanwhile, so the length is large enough to outweigh them)
    reserved = settings.model_copy(update={"upload_reserve_bytes": free})
    client = await aiohttp_client(create_app(reserved, clock=clock))
    await make_user(_pool(client), "bob")
    headers = bearer(await log_in(client, "bob"))
    response = await create(client, headers, 200 * 2**20)
    await assert_error(response, 507, "insufficient_storage")
    assert await _pool(client).fetchval("SELECT count(*) FROM tus_uploads") == 0


def _pool(client: Any) -> Any:
    from service.http.keys import SERVICES

    return client.app[SERVICES].database.pool


async def test_a_wrong_offset_is_409_and_changes_nothing(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    data = video_bytes(100_000)
    location = await new_upload(client, alice_headers, len(data))
    await patch(client, alice_headers, location, 0, data[:10_000])
    response = await patch(client, alice_headers, location, 5_000, data[5_000:20_000])
    await assert_error(response, 409, "offset_mismatch", field="Upload-Offset")
    assert await offset_of(client, alice_headers, location) == 10_000
    assert stored(settings, location).read_bytes() == data[:10_000]


async def test_a_patch_without_the_offset_content_type_is_415(
    client: Any, alice_headers: dict[str, str]
) -> None:
    location = await new_upload(client, alice_headers, 1000)
    response = await client.patch(
        location,
        data=b"x" * 100,
        headers={
            **alice_headers,
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/octet-stream",
        },
    )
    await assert_error(response, 415, "wrong_content_type", field="Content-Type")
    assert await offset_of(client, alice_headers, location) == 0


async def test_more_bytes_than_the_length_is_413_and_nothing_beyond_it_is_kept(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    data = video_bytes(100_000)
    location = await new_upload(client, alice_headers, len(data))
    # declared by Content-Length: refused before reading
    response = await patch(client, alice_headers, location, 0, data + b"extra")
    await assert_error(response, 413, "upload_too_large", field="Content-Length")

    # streamed without a length: refused once the body passes Upload-Length
    async def chunked() -> Any:
        yield data
        yield b"extra"

    response = await patch(client, alice_headers, location, 0, chunked())  # type: ignore[arg-type]
    await assert_error(response, 413, "upload_too_large", field="Upload-Length")
    assert await offset_of(client, alice_headers, location) == 0
    # and the upload still takes exactly its bytes
    response = await patch(client, alice_headers, location, 0, data)
    assert response.status == 204
    assert stored(settings, location).read_bytes() == data


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
async def test_a_chunk_that_does_not_match_its_checksum_is_460_and_discarded(
    client: Any, alice_headers: dict[str, str], settings: Settings, algorithm: str
) -> None:
    data = video_bytes(100_000)
    location = await new_upload(client, alice_headers, len(data))

    def header(chunk: bytes) -> str:
        return f"{algorithm} " + base64.b64encode(hashlib.new(algorithm, chunk).digest()).decode()

    good = await patch(
        client,
        alice_headers,
        location,
        0,
        data[:40_000],
        **{"Upload-Checksum": header(data[:40_000])},
    )
    assert good.status == 204
    bad = await patch(
        client,
        alice_headers,
        location,
        40_000,
        data[40_000:],
        **{"Upload-Checksum": header(b"something else")},
    )
    await assert_error(bad, 460, "checksum_mismatch", field="Upload-Checksum")
    assert await offset_of(client, alice_headers, location) == 40_000
    # the discarded chunk is not kept, and the same chunk sent right goes in
    again = await patch(
        client,
        alice_headers,
        location,
        40_000,
        data[40_000:],
        **{"Upload-Checksum": header(data[40_000:])},
    )
    assert again.status == 204
    assert stored(settings, location).read_bytes() == data


async def test_an_unknown_checksum_algorithm_is_400(
    client: Any, alice_headers: dict[str, str]
) -> None:
    location = await new_upload(client, alice_headers, 1000)
    response = await patch(
        client,
        alice_headers,
        location,
        0,
        b"x" * 10,
        **{"Upload-Checksum": "md5 " + base64.b64encode(b"0" * 16).decode()},
    )
    await assert_error(response, 400, "bad_request", field="Upload-Checksum")


async def test_a_non_video_is_refused_at_the_first_64_kib_and_its_bytes_deleted(
    client: Any, alice_headers: dict[str, str], settings: Settings, app_pool: Any
) -> None:
    # Given a 10 MiB upload whose content is text
    text = b"just some text, not a video\n" * 400_000
    location = await new_upload(client, alice_headers, len(text))
    # When 60 KiB arrive, nothing is judged yet
    response = await patch(client, alice_headers, location, 0, text[: 60 * 1024])
    assert response.status == 204
    # Then once the first 64 KiB are in, the upload is refused, long before its end
    response = await patch(client, alice_headers, location, 60 * 1024, text[60 * 1024 : 2 * 2**20])
    await assert_error(response, 415, "unsupported_media_type", file="ad.mp4")
    assert not stored(settings, location).exists()
    assert await app_pool.fetchval("SELECT count(*) FROM tus_uploads") == 0
    head = await client.head(location, headers={**alice_headers, **TUS})
    assert head.status == 404


async def test_a_small_non_video_is_refused_once_it_is_whole(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    location = await new_upload(client, alice_headers, 1000)
    response = await patch(client, alice_headers, location, 0, b"%PDF-1.7" + b"\0" * 992)
    await assert_error(response, 415, "unsupported_media_type")
    assert not stored(settings, location).exists()


async def test_a_patch_waiting_for_another_sees_its_offset_and_keeps_its_bytes(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    # Given a PATCH that is still sending its body (so it holds the upload)
    data = video_bytes(200_000)
    location = await new_upload(client, alice_headers, len(data))
    go_on = asyncio.Event()

    async def slow_body() -> Any:
        yield data[:50_000]
        await go_on.wait()
        yield data[50_000:120_000]

    first = asyncio.ensure_future(patch(client, alice_headers, location, 0, slow_body()))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    # When a second PATCH from the same offset arrives meanwhile, and the first then ends
    second = asyncio.ensure_future(patch(client, alice_headers, location, 0, data[:10_000]))
    await asyncio.sleep(0.3)
    go_on.set()
    # Then the first is recorded, and the second is 409 against the offset it recorded
    assert (await first).status == 204
    await assert_error(await second, 409, "offset_mismatch")
    # And the first one's bytes are intact
    assert await offset_of(client, alice_headers, location) == 120_000
    assert stored(settings, location).read_bytes() == data[:120_000]


async def test_an_offset_another_instance_recorded_is_honoured_over_the_one_remembered(
    client: Any, alice_headers: dict[str, str], settings: Settings
) -> None:
    # Given an upload whose first 100,000 bytes this process received and recorded
    data = video_bytes(300_000)
    location = await new_upload(client, alice_headers, len(data))
    assert (await patch(client, alice_headers, location, 0, data[:100_000])).status == 204
    # When another instance stores the next 100,000 and records them, as its PATCH would
    path = stored(settings, location)
    with path.open("ab") as f:
        f.write(data[100_000:200_000])
        f.flush()
        os.fsync(f.fileno())
    await _pool(client).execute(
        'UPDATE tus_uploads SET "offset" = 200000 WHERE upload_id = $1',
        uuid.UUID(location.rsplit("/", 1)[1]),
    )
    # Then a PATCH from the offset this process remembers is refused against the new one
    stale = await patch(client, alice_headers, location, 100_000, data[100_000:200_000])
    body = await assert_error(stale, 409, "offset_mismatch")
    assert "200000" in body["error"]["message"]
    # And the upload finishes from the new one, with the source's bytes and SHA-256
    done = await patch(client, alice_headers, location, 200_000, data[200_000:])
    assert done.status == 204, await done.text()
    assert path.read_bytes() == data
    row = await _pool(client).fetchrow('SELECT "offset", sha256 FROM tus_uploads')
    assert (row["offset"], row["sha256"]) == (len(data), sha256(data))


async def test_the_pages_session_cookie_works_for_tus_with_this_services_origin(
    client: Any, alice: Any
) -> None:
    from tests.http.test_session_cookie import cookie_log_in, own_origin

    # Given alice signed in on the page (the cookie is in the client's jar, no token)
    await cookie_log_in(client)
    same = {"Origin": own_origin(client)}
    data = video_bytes(100_000)
    # When the page (tus-js-client) creates and sends an upload from this origin
    response = await create(client, {}, len(data), headers=same)
    assert response.status == 201, await response.text()
    location = response.headers["Location"]
    assert (await patch(client, same, location, 0, data)).status == 204
    # Then HEAD (a read) needs no Origin, and a write from another site is refused
    assert await offset_of(client, {}, location) == len(data)
    response = await client.delete(location, headers={**TUS, "Origin": "http://evil.example"})
    await assert_error(response, 403, "cross_origin")
