"""`GET /api/jobs/{id}/outputs/{file_id}/{index}` (and HEAD): one rendered variation alone.

`video/mp4` with byte ranges (a `<video>` seeks), a strong ETag, `If-None-Match` and
`If-Range`, and the name it has in the ZIP; the same access, availability rules and
errors as the ZIP. The service sends the bytes from either backend (a bucket's by ranged
GETs guarded by the recorded ETag) rather than redirecting to a presigned URL: the page's
Content-Security-Policy lets media come from its own origin only, and a redirect would
leave the ETag, the file name and the expiry rules to the bucket.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract import declare
from service.contract.parse import parse_path
from service.download.availability import downloadable_outputs
from service.download.one_output import plan_one_output
from service.download.stale_view import verified_or_expired
from service.http.auth import require_user
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.http.ranged import ranged_contract, send_planned

routes = web.RouteTableDef()


class OutputPath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id (an unknown or unreadable id is 404).")
    file_id: uuid.UUID = Field(description="The source video's id (`sources[].id`).")
    index: int = Field(ge=1, le=20, description="The variation's index (`variation_index`).")


@routes.get("/api/jobs/{job_id}/outputs/{file_id}/{index}")  # HEAD too: same headers, no body
@declare(
    summary="One rendered variation alone (seekable: byte ranges)",
    tags=["download"],
    path=OutputPath,
    **ranged_contract("video/mp4", "variation", "The variation, named as in the ZIP."),
    errors={
        401: "No valid credentials.",
        404: "No such job or variation, not yours, or not finished yet.",
        410: "The results expired.",
        416: "The range lies outside the variation.",
        503: "The object store cannot be reached.",
    },
)
async def output(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    where = parse_path(request, OutputPath, "no such variation")
    job = await visible_job(request, await require_user(request))
    outputs = downloadable_outputs(job, services.clock.now())
    one = plan_one_output(job, outputs, where.file_id, where.index, services.storage)
    plan = await verified_or_expired(
        one.plan, services.storage, services.store, job, services.clock.now()
    )
    response, _ = await send_planned(
        request, plan, services.storage, content_type="video/mp4", filename=one.filename
    )
    return response
