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
from service.contract import declare, respond
from service.contract.parse import parse_path
from service.contract.types import Timestamp
from service.download import links
from service.download.availability import downloadable_outputs
from service.download.job_archive import archive_filename, plan_job_archive
from service.download.stale_view import verified_or_expired
from service.errors import InvalidDownloadLink
from service.http.auth import require_user
from service.http.job_models import JobPath
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.http.ranged import ranged_contract, send_planned
from service.metrics import catalogue as metrics
from service.projections.job_state import JobState

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

LINK_PARAM = "link"


class DownloadQuery(BaseModel):
    link: str | None = Field(
        default=None, description="A signed link's token, instead of a bearer token."
    )


class DownloadLink(BaseModel):
    """A URL that downloads the job's ZIP without credentials, until `expires_at`."""

    url: str
    expires_at: Timestamp


@routes.get("/api/jobs/{job_id}/download")  # HEAD too: same headers, no body
@declare(
    summary="Download every variation as one STORE ZIP (resumable)",
    tags=["download"],
    auth="bearer_or_link",
    path=JobPath,
    query=DownloadQuery,
    **ranged_contract("application/zip", "ZIP", "The ZIP, one folder per video."),
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
    plan = await verified_or_expired(
        plan, services.storage, services.store, job, services.clock.now()
    )
    response, sent = await send_planned(
        request, plan, services.storage,
        content_type="application/zip", filename=archive_filename(job),
    )  # fmt: skip
    metrics.DOWNLOAD_BYTES.inc(sent)
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
