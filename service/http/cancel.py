"""`POST /api/jobs/{id}/cancel`: the owner (or an admin) stops a job.

202 when a worker has been asked to stop (the job is `cancelling`), 200 with the job as
it stands when it ended at once or was already cancelling or cancelled; 409
`not_cancellable` for a job that has already ended otherwise.
"""

from __future__ import annotations

from aiohttp import web

from service.contract import declare
from service.http import job_presenter
from service.http.auth import require_user
from service.http.errors import REQUEST_ID
from service.http.job_models import JobDetail, JobPath
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.processing.cancel import cancel_job

routes = web.RouteTableDef()


@routes.post("/api/jobs/{job_id}/cancel")
@declare(
    summary="Cancel a job: a worker stops it; what was rendered stays downloadable",
    tags=["jobs"],
    path=JobPath,
    responses={
        200: JobDetail,  # ended at once, or already cancelling or cancelled
        202: JobDetail,  # a worker has been asked to stop: the job is `cancelling`
    },
    errors={409: "The job has already ended otherwise (`error.job_status` says how)."},
)
async def cancel(request: web.Request) -> web.Response:
    principal = await require_user(request)
    job = await visible_job(request, principal)
    services = request.app[SERVICES]
    result = await cancel_job(
        services.store,
        job.job_id,
        requested_by=str(principal.user_id),
        actor=principal.username,
        now=services.clock.now(),
        request_id=request[REQUEST_ID],
    )
    if result.appended is not None:
        await services.job_view_waiter.wait_for(
            result.appended, services.settings.read_your_writes_timeout_s
        )
    status = 202 if result.appended is not None and result.job.status == "cancelling" else 200
    return web.json_response(job_presenter.detail(result.job), status=status)
