"""`/api/jobs`: create a job by upload, list the caller's jobs, show one, show its history.

Every route needs a bearer token. A job the caller may not see answers exactly like an
unknown one.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from service.accounts.principal import Principal
from service.accounts.users import usernames
from service.contract import Raw, declare
from service.contract.parse import parse_path, parse_query
from service.errors import NotFound
from service.events.job import job_stream
from service.http import job_presenter, uploads
from service.http.auth import can_see, require_user
from service.http.errors import REQUEST_ID
from service.http.job_models import (
    JobCreated,
    JobDetail,
    JobHistory,
    JobList,
    JobListQuery,
    JobPath,
)
from service.http.keys import SERVICES
from service.metrics import catalogue as metrics
from service.projections.job_state import JobState
from service.tus.job_from_uploads import job_from_uploads
from service.tus.request import JOB_FROM_UPLOADS_SCHEMA, parse_job_from_uploads
from service.uploads import idempotency
from service.uploads.intake import open_multipart
from service.uploads.receive import receive_job

routes = web.RouteTableDef()

_CREATE = "POST /api/jobs"  # the idempotency fingerprint of this operation


class CreateJobHeaders(BaseModel):
    idempotency_key: str | None = Field(
        default=None,
        alias=idempotency.HEADER,
        min_length=1,
        max_length=idempotency.MAX_KEY_CHARS,
        pattern="^[ -~]+$",
        description="Repeat a request safely: the same key answers the first answer again.",
    )


UPLOAD_FORM = Raw(
    ("multipart/form-data", "application/json"),
    "One or more `videos` file parts (MP4/MOV, recognised by content) and `variations`; "
    "or, as JSON, the ids of finished tus uploads (`/api/uploads`) and `variations`.",
    {
        "type": "object",
        "properties": {
            "videos": {
                "type": "array",
                "items": {"type": "string", "contentMediaType": "video/mp4"},
                "minItems": 1,
            },
            "variations": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        "required": ["videos"],
        "additionalProperties": False,
    },
    schema_by_type={"application/json": JOB_FROM_UPLOADS_SCHEMA},
)


@routes.post("/api/jobs")
@declare(
    summary="Create a job by uploading videos",
    tags=["jobs"],
    headers=CreateJobHeaders,
    body=UPLOAD_FORM,
    responses={202: JobCreated},
    errors={
        409: "The same Idempotency-Key is still being answered; or an upload named is "
        "unfinished, expired or already in a job (`error.upload` names it).",
        413: "A file is too large, or too many files.",
        415: "A file is not MP4 or MOV.",
        422: "The Idempotency-Key was used for another operation.",
        507: "Not enough disk space for the upload.",
    },
)
async def create_job(request: web.Request) -> web.Response:
    principal = await require_user(request)
    services = request.app[SERVICES]
    key = idempotency.check_key(request.headers.get(idempotency.HEADER))

    if request.content_type == "application/json":  # a job of finished tus uploads
        return await create_job_from_uploads(request, principal, key)

    async def create() -> idempotency.Response:
        with metrics.UPLOADS_IN_PROGRESS.track_inprogress():
            received = await receive_job(
                services,
                principal,
                open_multipart(request),
                content_length=request.content_length,
                request_id=request[REQUEST_ID],
            )
        metrics.UPLOAD_BYTES.inc(sum(f.size for f in received.event.files))
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


async def create_job_from_uploads(
    request: web.Request, principal: Principal, key: str | None
) -> web.Response:
    """`{"uploads": [ids], "variations": N}`: the same job multipart makes (issue 11)."""
    services = request.app[SERVICES]
    wanted = parse_job_from_uploads(await request.read(), services.settings.max_files_per_job)

    async def create() -> idempotency.Response:
        received = await job_from_uploads(
            services,
            uploads.context(request),
            principal,
            wanted.uploads,
            variations=wanted.variations,
            request_id=request[REQUEST_ID],
        )
        return 202, job_presenter.created(received.event)

    status, body = await idempotency.run_once(
        services.database.pool,
        principal.user_id,
        key,
        fingerprint=wanted.fingerprint,
        now=services.clock.now(),
        action=create,
    )
    return web.json_response(body, status=status)


@routes.get("/api/jobs")
@declare(
    summary="List your jobs, newest first",
    tags=["jobs"],
    query=JobListQuery,
    responses={200: JobList},
)
async def list_jobs(request: web.Request) -> web.Response:
    principal = await require_user(request)
    query = parse_query(request, JobListQuery)
    before = job_presenter.decode_cursor(query.cursor) if query.cursor else None
    owner = None if principal.is_admin else principal.user_id
    jobs = await request.app[SERVICES].jobs.list(owner, before=before, limit=query.limit + 1)
    page = jobs[: query.limit]
    more = len(jobs) > query.limit
    cursor = job_presenter.encode_cursor(page[-1]) if more else None
    owners = None
    if principal.is_admin:  # admins see every owner's jobs, so each row names its owner
        owners = await usernames(request.app[SERVICES].database.pool, [j.owner_id for j in page])
    return web.json_response(job_presenter.job_list(page, cursor, owners))


@routes.get("/api/jobs/{job_id}")
@declare(
    summary="One job: status, files, outputs, failures",
    tags=["jobs"],
    path=JobPath,
    responses={200: JobDetail},
)
async def show_job(request: web.Request) -> web.Response:
    job = await visible_job(request, await require_user(request))
    return web.json_response(job_presenter.detail(job))


@routes.get("/api/jobs/{job_id}/events")
@declare(
    summary="A job's history: every event of its stream",
    tags=["jobs"],
    path=JobPath,
    responses={200: JobHistory},
)
async def job_events(request: web.Request) -> web.Response:
    job = await visible_job(request, await require_user(request))
    events = await request.app[SERVICES].store.read_stream(job_stream(job.job_id))
    return web.json_response(job_presenter.history(job.job_id, events))


async def visible_job(request: web.Request, principal: Principal) -> JobState:
    """The job named in the path if the caller may see it; 404 otherwise, whatever the reason."""
    job_id = parse_path(request, JobPath, "no such job").job_id
    job = await request.app[SERVICES].jobs.get(job_id)
    if job is None or not can_see(principal, job):
        raise NotFound("no such job")
    return job
