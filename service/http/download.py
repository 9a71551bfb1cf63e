"""`/api/jobs/{id}/download`: the job's STORE ZIP, resumable; and short-lived links to it.

The handler decides from the job view alone, lays the archive out from the recorded
sizes and CRCs, checks the files exist (one thread hop), then sends the requested range
(file bodies by sendfile). Once the first byte is out, any failure closes the connection:
the client sees a truncated transfer, never a well-formed archive that lacks an entry.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel, Field

from service.accounts.principal import Principal
from service.accounts.users import find_user_by_id
from service.contract import Raw, declare, respond
from service.contract.parse import parse_path
from service.contract.types import Timestamp
from service.download import links
from service.download.availability import downloadable_outputs
from service.download.disposition import content_disposition
from service.download.job_archive import archive_filename, plan_job_archive
from service.download.ranges import content_range, parse_range
from service.download.send import send_range
from service.download.sources import verified_plan
from service.errors import InvalidDownloadLink
from service.http.auth import require_user
from service.http.job_models import JobPath
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.metrics import catalogue as metrics
from service.projections.job_state import JobState

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

LINK_PARAM = "link"
CACHING = "private, no-transform"


class DownloadQuery(BaseModel):
    link: str | None = Field(
        default=None, description="A signed link's token, instead of a bearer token."
    )


class DownloadHeaders(BaseModel):
    range: str | None = Field(
        default=None, alias="Range", description="One `bytes=` range; several: the whole ZIP."
    )
    if_range: str | None = Field(
        default=None, alias="If-Range", description="The ETag the range belongs to."
    )
    if_none_match: str | None = Field(
        default=None,
        alias="If-None-Match",
        description="ETags the client holds (or `*`): a match answers 304 with no body.",
    )


class DownloadLink(BaseModel):
    """A URL that downloads the job's ZIP without credentials, until `expires_at`."""

    url: str
    expires_at: Timestamp


ZIP_HEADERS = {
    "ETag": "Strong: the same job gives the same bytes.",
    "Content-Disposition": "The file name.",
    "Accept-Ranges": "`bytes`.",
}


@routes.get("/api/jobs/{job_id}/download")  # HEAD too: same headers, no body
@declare(
    summary="Download every variation as one STORE ZIP (resumable)",
    tags=["download"],
    auth="bearer_or_link",
    path=JobPath,
    query=DownloadQuery,
    headers=DownloadHeaders,
    responses={
        200: Raw("application/zip", "The ZIP, one folder per video.", headers=ZIP_HEADERS),
        206: Raw(
            "application/zip",
            "The requested range of the ZIP.",
            headers={**ZIP_HEADERS, "Content-Range": "Which bytes."},
        ),
        304: None,  # If-None-Match matched: the client's copy is current
    },
    response_headers={304: {"ETag": "The archive's ETag."}},
    errors={
        401: "No valid credentials, or an invalid or expired link.",
        404: "No such job, not yours, not finished yet, or nothing rendered.",
        410: "The results expired.",
        416: "The range lies outside the ZIP.",
    },
)
async def download(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    job = await _job_for_download(request)
    outputs = downloadable_outputs(job, services.clock.now())
    plan = plan_job_archive(job, outputs, services.storage)
    plan = await verified_plan(plan, services.storage, job.job_id)
    if _none_match(request.headers.get("If-None-Match"), plan.etag):
        return web.Response(status=304, headers={"ETag": plan.etag, "Cache-Control": CACHING})

    span = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range == plan.etag:
        span = parse_range(request.headers.get("Range"), plan.size)
    start, end = span or (0, plan.size)
    response = web.StreamResponse(status=206 if span else 200)
    response.content_type = "application/zip"
    response.content_length = end - start
    response.headers["Content-Disposition"] = content_disposition(archive_filename(job))
    response.headers["ETag"] = plan.etag
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = CACHING
    if span:
        response.headers["Content-Range"] = content_range(start, end, plan.size)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    await send_range(request, response, plan, start, end, services.storage)
    metrics.DOWNLOAD_BYTES.inc(end - start)
    await response.write_eof()
    return response


@routes.post("/api/jobs/{job_id}/download-link")
@declare(
    summary="A short-lived link that downloads the ZIP without credentials",
    tags=["download"],
    path=JobPath,
    responses={200: DownloadLink},
)
async def download_link(request: web.Request) -> web.Response:
    principal = await require_user(request)
    services = request.app[SERVICES]
    job = await visible_job(request, principal)
    expires_at = services.clock.now() + timedelta(seconds=services.settings.download_link_ttl_s)
    key = await links.signing_key(services.database.pool)
    token = links.sign(key, links.LinkGrant(job.job_id, principal.user_id, expires_at))
    url = request.url.with_path(f"/api/jobs/{job.job_id}/download").with_query({LINK_PARAM: token})
    return respond(DownloadLink(url=str(url), expires_at=expires_at))


def _none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal to ours (weak comparison)."""
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


async def _job_for_download(request: web.Request) -> JobState:
    """The job, for its owner or an admin: by bearer token, or by a signed link."""
    token = request.query.get(LINK_PARAM)
    if token is None:
        return await visible_job(request, await require_user(request))
    services = request.app[SERVICES]
    job_id = parse_path(request, JobPath).job_id
    key = await links.signing_key(services.database.pool)
    grant = links.verify(key, token, job_id, services.clock.now())
    user = await find_user_by_id(services.database.pool, grant.user_id)
    if user is None:
        raise InvalidDownloadLink()
    principal = Principal(user_id=user.id, username=user.username, is_admin=user.is_admin)
    return await visible_job(request, principal)
