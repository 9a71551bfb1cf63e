"""One variation alone, and the thumbnails: what the page shows and plays.

`GET /api/jobs/{id}/outputs/{file_id}/{index}` (and HEAD) sends one rendered MP4 with byte
ranges (so a `<video>` can seek), a strong ETag from its recorded size and CRC-32, and the
name it has in the ZIP. It is the download's machinery with a one-file plan: the same
availability rules and errors, the same sendfile path. Thumbnails are small JPEGs named
in the log with their SHA-256, served with that as a strong ETag and a long cache life.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import PurePosixPath

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract import Raw, declare
from service.download.archive import ArchivePlan, Body, check_sources
from service.download.availability import downloadable_outputs
from service.download.disposition import content_disposition
from service.download.job_archive import plan_job_archive
from service.download.ranges import content_range, parse_range
from service.download.send import send_range
from service.errors import ArchiveSourceChanged, NotFound
from service.events.job import Thumbnail
from service.http.auth import require_user
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.projections.job_state import JobState, OutputState

routes = web.RouteTableDef()


class VariationPath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id.")
    file_id: uuid.UUID = Field(description="The source video's id (`sources[].id`).")
    index: int = Field(ge=1, le=20, description="The variation's number, from 1.")


class SourcePath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id.")
    file_id: uuid.UUID = Field(description="The source video's id (`sources[].id`).")


class VariationHeaders(BaseModel):
    range: str | None = Field(default=None, alias="Range", description="One `bytes=` range.")
    if_range: str | None = Field(
        default=None, alias="If-Range", description="The ETag the range belongs to."
    )
    if_none_match: str | None = Field(
        default=None, alias="If-None-Match", description="A cached copy's ETag: 304 if current."
    )


class ThumbnailHeaders(BaseModel):
    if_none_match: str | None = Field(
        default=None, alias="If-None-Match", description="A cached copy's ETag: 304 if current."
    )


MP4_HEADERS = {
    "ETag": "Strong, from the recorded size and CRC-32.",
    "Content-Disposition": "The name this variation has in the ZIP.",
    "Accept-Ranges": "`bytes`.",
}
JPEG_HEADERS = {"ETag": "Strong, from the JPEG's SHA-256.", "Cache-Control": "A year, immutable."}
AVAILABILITY = {
    404: "Unknown or not the caller's, not finished yet, no outputs, or no such video.",
    410: "The job's results have expired.",
}

THUMBNAIL_CACHE = "private, max-age=31536000, immutable"  # the bytes behind a path never change


@routes.get("/api/jobs/{job_id}/outputs/{file_id}/{index}")  # HEAD too
@declare(
    summary="One variation alone, for a player (byte ranges) or a single download",
    tags=["download"],
    path=VariationPath,
    headers=VariationHeaders,
    responses={
        200: Raw("video/mp4", "The rendered MP4.", headers=MP4_HEADERS),
        206: Raw(
            "video/mp4",
            "The requested range.",
            headers={**MP4_HEADERS, "Content-Range": "Which bytes."},
        ),
        304: None,
    },
    errors={**AVAILABILITY, 416: "No requested byte lies within the file."},
)
async def variation(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    job = await visible_job(request, await require_user(request))
    outputs = downloadable_outputs(job, services.clock.now())
    output = _output(job, request)
    archive = plan_job_archive(job, outputs, services.settings.data_dir)
    (entry,) = [e for e in archive.entries if e.path == services.settings.data_dir / output.path]
    plan = ArchivePlan((Body(0, entry),), entry.size, f'"{entry.crc32:08x}-{entry.size:x}"')
    if await asyncio.to_thread(check_sources, plan):
        raise ArchiveSourceChanged(output.path, expected_size=output.size, actual_size=None)

    if request.headers.get("If-None-Match") == plan.etag:
        return web.Response(status=304, headers={"ETag": plan.etag})
    span = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range == plan.etag:
        span = parse_range(request.headers.get("Range"), plan.size)
    start, end = span or (0, plan.size)
    response = web.StreamResponse(status=206 if span else 200)
    response.content_type = "video/mp4"
    response.content_length = end - start
    response.headers["ETag"] = plan.etag
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, no-transform"
    response.headers["Content-Disposition"] = content_disposition(PurePosixPath(entry.name).name)
    if span:
        response.headers["Content-Range"] = content_range(start, end, plan.size)
    await response.prepare(request)
    if request.method != "HEAD":
        await send_range(request, response, plan, start, end)
        await response.write_eof()
    return response


@routes.get("/api/jobs/{job_id}/outputs/{file_id}/{index}/thumbnail")
@declare(
    summary="A variation's first frame as a JPEG (320 px wide)",
    tags=["download"],
    path=VariationPath,
    headers=ThumbnailHeaders,
    responses={200: Raw("image/jpeg", "The thumbnail.", headers=JPEG_HEADERS), 304: None},
    errors={**AVAILABILITY, 404: AVAILABILITY[404] + " Or no thumbnail was made."},
)
async def variation_thumbnail(request: web.Request) -> web.Response:
    job = await _available(request)
    return await _thumbnail(request, _output(job, request).thumbnail)


@routes.get("/api/jobs/{job_id}/files/{file_id}/thumbnail")
@declare(
    summary="A source video's first frame as a JPEG (320 px wide)",
    tags=["download"],
    path=SourcePath,
    headers=ThumbnailHeaders,
    responses={200: Raw("image/jpeg", "The thumbnail.", headers=JPEG_HEADERS), 304: None},
    errors={**AVAILABILITY, 404: AVAILABILITY[404] + " Or no thumbnail was made."},
)
async def source_thumbnail(request: web.Request) -> web.Response:
    job = await _available(request)
    file_id = _uuid(request.match_info["file_id"])
    file = next((f for f in job.files if f.file_id == file_id), None)
    if file is None:
        raise NotFound("no such file in this job")
    return await _thumbnail(request, file.thumbnail)


async def _available(request: web.Request) -> JobState:
    job = await visible_job(request, await require_user(request))
    downloadable_outputs(job, request.app[SERVICES].clock.now())  # 404/410 as the download
    return job


def _output(job: JobState, request: web.Request) -> OutputState:
    file_id = _uuid(request.match_info["file_id"])
    index = request.match_info["index"]
    for output in job.outputs:
        if output.file_id == file_id and index.isdigit() and output.variation_index == int(index):
            return output
    raise NotFound("no such variation")


async def _thumbnail(request: web.Request, thumbnail: Thumbnail | None) -> web.Response:
    if thumbnail is None:
        raise NotFound("no thumbnail was made for this video")
    etag = f'"{thumbnail.sha256[:32]}"'
    headers = {"ETag": etag, "Cache-Control": THUMBNAIL_CACHE}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    path = request.app[SERVICES].settings.data_dir / thumbnail.path
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFound("the thumbnail is gone") from None
    return web.Response(body=body, content_type="image/jpeg", headers=headers)


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound("no such variation") from None
