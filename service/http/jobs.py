"""`/api/jobs`: create a job by upload, list the caller's jobs, show one, show its history.

Every route needs a bearer token. A job the caller may not see answers exactly like an
unknown one.
"""

from __future__ import annotations

import uuid

from aiohttp import web

from service.accounts.principal import Principal
from service.accounts.users import usernames
from service.errors import BadRequest, NotFound
from service.events.job import job_stream
from service.http import job_presenter
from service.http.auth import can_see, require_user
from service.http.errors import REQUEST_ID
from service.http.keys import SERVICES
from service.projections.job_state import JobState
from service.uploads import idempotency
from service.uploads.intake import open_multipart
from service.uploads.receive import receive_job

routes = web.RouteTableDef()

DEFAULT_PAGE = 20
MAX_PAGE = 100
_CREATE = "POST /api/jobs"  # the idempotency fingerprint of this operation


@routes.post("/api/jobs")
async def create_job(request: web.Request) -> web.Response:
    principal = await require_user(request)
    services = request.app[SERVICES]
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))

    async def create() -> idempotency.Response:
        received = await receive_job(
            services,
            principal,
            open_multipart(request),
            content_length=request.content_length,
            request_id=request[REQUEST_ID],
        )
        return 202, job_presenter.created(received.event)

    status, body = await idempotency.run_once(
        services.database.pool,
        principal.user_id,
        key,
        fingerprint=_CREATE,
        now=services.clock.now(),
        action=create,
    )
    return web.json_response(body, status=status)


@routes.get("/api/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    principal = await require_user(request)
    limit = _limit(request.query.get("limit"))
    cursor = request.query.get("cursor")
    before = job_presenter.decode_cursor(cursor) if cursor else None
    owner = None if principal.is_admin else principal.user_id
    jobs = await request.app[SERVICES].jobs.list(owner, before=before, limit=limit + 1)
    page = jobs[:limit]
    more = len(jobs) > limit
    rows = [job_presenter.summary(j) for j in page]
    if principal.is_admin:  # admins see every owner's jobs, so each row names its owner
        names = await usernames(request.app[SERVICES].database.pool, [j.owner_id for j in page])
        for row, job in zip(rows, page, strict=True):
            row["owner"] = names.get(job.owner_id)
    return web.json_response(
        {
            "jobs": rows,
            "next_cursor": job_presenter.encode_cursor(page[-1]) if more else None,
        }
    )


@routes.get("/api/jobs/{job_id}")
async def show_job(request: web.Request) -> web.Response:
    job = await visible_job(request, await require_user(request))
    return web.json_response(job_presenter.detail(job))


@routes.get("/api/jobs/{job_id}/events")
async def job_events(request: web.Request) -> web.Response:
    job = await visible_job(request, await require_user(request))
    events = await request.app[SERVICES].store.read_stream(job_stream(job.job_id))
    return web.json_response(
        {"job_id": str(job.job_id), "events": [job_presenter.event_record(e) for e in events]}
    )


async def visible_job(request: web.Request, principal: Principal) -> JobState:
    """The job named in the path if the caller may see it; 404 otherwise, whatever the reason."""
    try:
        job_id = uuid.UUID(request.match_info["job_id"])
    except ValueError:
        raise NotFound("no such job") from None
    job = await request.app[SERVICES].jobs.get(job_id)
    if job is None or not can_see(principal, job):
        raise NotFound("no such job")
    return job


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE}", field="limit")
    return int(raw)
