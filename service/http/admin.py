"""Admin actions over HTTP: `POST /api/jobs/{id}/expire` (reason `admin`), as `jobs expire` does."""

from __future__ import annotations

from aiohttp import web

from service.contract import declare
from service.errors import NotFound, WrongExpectedVersion
from service.events.job import job_stream
from service.http import job_presenter
from service.http.auth import require_user
from service.http.errors import REQUEST_ID
from service.http.job_models import JobDetail, JobPath
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.projections.job_state import fold
from service.reactors.expire import expire_job

routes = web.RouteTableDef()

ATTEMPTS = 3  # a job's stream rarely moves twice while an admin expires it


@routes.post("/api/jobs/{job_id}/expire")
@declare(
    summary="Expire a job now (admins): its downloads end and its outputs are deleted",
    tags=["admin"],
    path=JobPath,
    responses={200: JobDetail},
    errors={
        404: "No such job, or the caller is not an administrator.",
        409: "The job is being processed; expire it once processing has finished.",
    },
)
async def expire(request: web.Request) -> web.Response:
    """Expire a finished (or never started) job now; 409 while it is being processed."""
    principal = await require_user(request)
    if not principal.is_admin:  # for anyone else the action does not exist, as others' jobs
        raise NotFound("no such job (only an administrator may expire a job)")
    services = request.app[SERVICES]
    job = await visible_job(request, principal)
    stream = job_stream(job.job_id)
    for _ in range(ATTEMPTS):
        # The stream, not the view: the view may lag, and the admin means the job now.
        state = fold(await services.store.read_stream(stream))
        assert state is not None
        if state.status == "expired":
            break
        try:
            result = await expire_job(
                services.store, state, "admin", services.clock.now(),
                actor=f"user:{principal.username}", request_id=request[REQUEST_ID],
            )  # fmt: skip
        except WrongExpectedVersion:
            continue  # it moved meanwhile: look again
        await services.job_view_waiter.wait_for(
            result, timeout_s=services.settings.read_your_writes_timeout_s
        )
        break
    else:
        raise WrongExpectedVersion(
            stream, state.version, await services.store.stream_version(stream)
        )
    return web.json_response(job_presenter.detail(await visible_job(request, principal)))
