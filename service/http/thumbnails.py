"""The thumbnails: a JPEG of each source and each variation, for the page's lists.

They are small objects named in the log with their SHA-256, served with that as a strong
ETag and a year's cache life (the bytes behind a recorded key never change). They follow
the download's rules for who may see a job (404) and for expiry (410), but not its wait
for the end: the page shows a job's thumbnails while it renders, as each is recorded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract import Raw, declare
from service.contract.parse import parse_path
from service.download.availability import refuse_if_expired
from service.errors import NotFound
from service.events.job import Thumbnail
from service.http.auth import require_user
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.projections.job_state import JobState

routes = web.RouteTableDef()

CACHE = "private, max-age=31536000, immutable"
Handler = Callable[[web.Request], Awaitable[web.Response]]


class SourceThumbnailPath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id.")
    file_id: uuid.UUID = Field(description="The source video's id (`sources[].id`).")


class VariationThumbnailPath(SourceThumbnailPath):
    index: int = Field(ge=1, le=20, description="The variation's index.")


class ThumbnailHeaders(BaseModel):
    if_none_match: str | None = Field(
        default=None, alias="If-None-Match", description="A cached copy's ETag: 304 if current."
    )


JPEG = Raw(
    "image/jpeg",
    "The thumbnail, 320 px wide.",
    headers={"ETag": "Strong, from the JPEG's SHA-256.", "Cache-Control": "A year, immutable."},
)
ERRORS = {
    401: "No valid credentials.",
    404: "No such job or video, not yours, or no thumbnail was made (yet).",
    410: "The job's results have expired.",
}


def _declare(summary: str, path: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Both thumbnails answer alike: a JPEG (or 304) under the download's rules."""
    return declare(
        summary=summary,
        tags=["download"],
        path=path,
        headers=ThumbnailHeaders,
        responses={200: JPEG, 304: None},
        errors=ERRORS,
    )


@routes.get("/api/jobs/{job_id}/outputs/{file_id}/{index}/thumbnail")
@_declare("A variation's frame as a JPEG, for the page's previews", VariationThumbnailPath)
async def variation_thumbnail(request: web.Request) -> web.Response:
    where = parse_path(request, VariationThumbnailPath, "no such variation")
    job = await _available(request)
    for output in job.outputs_of(where.file_id):
        if output.variation_index == where.index:
            return await _send(request, output.thumbnail)
    raise NotFound("no such variation")


@routes.get("/api/jobs/{job_id}/files/{file_id}/thumbnail")
@_declare("A source video's frame as a JPEG, for the page's job list", SourceThumbnailPath)
async def source_thumbnail(request: web.Request) -> web.Response:
    where = parse_path(request, SourceThumbnailPath, "no such video")
    job = await _available(request)
    for file in job.files:
        if file.file_id == where.file_id:
            return await _send(request, file.thumbnail)
    raise NotFound("no such video in this job")


async def _available(request: web.Request) -> JobState:
    job = await visible_job(request, await require_user(request))
    refuse_if_expired(job, request.app[SERVICES].clock.now())  # 410 as the download
    return job


async def _send(request: web.Request, thumbnail: Thumbnail | None) -> web.Response:
    if thumbnail is None:
        raise NotFound("no thumbnail was made for this video")
    etag = f'"{thumbnail.sha256[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    storage = request.app[SERVICES].storage
    local = storage.local_path(thumbnail.key)
    try:
        if local is not None:
            body = await asyncio.to_thread(local.read_bytes)
        else:
            body = await storage.get_range(
                thumbnail.key, 0, thumbnail.size, if_match=thumbnail.etag or "*"
            )
    except FileNotFoundError:
        raise NotFound("the thumbnail is gone") from None
    return web.Response(body=body, content_type="image/jpeg", headers=headers)
