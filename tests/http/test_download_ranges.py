"""Resuming a download: single byte ranges are exact slices of the whole archive, and a
resume reads no output that lies wholly before it."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import psutil

from tests.http.download_support import fetch, finished_job, services_of


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
