"""`/api/jobs/{id}/files/{file_id}/variations/{variation}`: one rendered output on its own.

From a bucket the answer is a short-lived presigned redirect, so the bytes go from the
store to the client without passing through the service; from the local disk the file
is sent as it is (sendfile). Same rules as the ZIP: the owner or an admin, and only
while the job's results are downloadable.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract import Raw, declare
from service.contract.parse import parse_path
from service.download.availability import downloadable_outputs
from service.download.disposition import content_disposition
from service.download.names import SourceVariations, entry_names
from service.errors import NotFound
from service.http.auth import require_user
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.projections.job_state import JobState, OutputState

routes = web.RouteTableDef()

PRESIGNED_TTL_S = 120  # the redirect is followed at once; a short life limits a leaked URL


class OutputPath(BaseModel):
    job_id: uuid.UUID = Field(description="The job's id (an unknown or unreadable id is 404).")
    file_id: uuid.UUID = Field(description="The source video's id (`files[].id`).")
    variation: int = Field(ge=1, le=20, description="The variation's index (`variation_index`).")


@routes.get("/api/jobs/{job_id}/files/{file_id}/variations/{variation}")
@declare(
    summary="One rendered variation: a presigned redirect to the bucket, or the file itself",
    tags=["download"],
    path=OutputPath,
    responses={
        200: Raw("video/mp4", "The variation (local-disk storage).",
                 headers={"Content-Disposition": "Its name inside the ZIP."}),
        307: None,
    },
    response_headers={307: {"Location": "A presigned URL of the object, valid for 120 s."}},
    errors={
        401: "No valid credentials.",
        404: "No such job or output, not yours, or not finished yet.",
        410: "The results expired.",
        503: "The object store cannot be reached.",
    },
)  # fmt: skip
async def output(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    where = parse_path(request, OutputPath, "no such output")
    job = await visible_job(request, await require_user(request))
    chosen = _output_of(job, where.file_id, where.variation)
    outputs = downloadable_outputs(job, services.clock.now())
    if chosen not in outputs:
        raise NotFound("no such output")
    url = await services.storage.presign_get(chosen.key, PRESIGNED_TTL_S)
    if url is not None:
        raise web.HTTPTemporaryRedirect(url, headers={"Cache-Control": "no-store"})
    path = services.storage.local_path(chosen.key)
    assert path is not None  # a backend that cannot sign serves local files
    response = web.FileResponse(path)
    response.content_type = "video/mp4"
    response.headers["Content-Disposition"] = content_disposition(_entry_name(job, chosen))
    return response


def _output_of(job: JobState, file_id: uuid.UUID, variation: int) -> OutputState:
    for candidate in job.outputs:
        if (candidate.file_id, candidate.variation_index) == (file_id, variation):
            return candidate
    raise NotFound("no such output")


def _entry_name(job: JobState, chosen: OutputState) -> str:
    """The name the output has inside the ZIP, without its folder."""
    sources = [f for f in job.files if any(o.file_id == f.file_id for o in job.outputs)]
    names = entry_names(
        [SourceVariations(f.name, [o.variation_index for o in job.outputs_of(f.file_id)])
         for f in sources]
    )  # fmt: skip
    for source, source_names in zip(sources, names, strict=True):
        for candidate, name in zip(job.outputs_of(source.file_id), source_names, strict=True):
            if candidate == chosen:
                return name.rsplit("/", 1)[-1]
    return "output.mp4"
