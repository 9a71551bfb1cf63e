"""`/api/jobs/{id}/outputs/{file_id}/{variation}`: one rendered output on its own.

From a bucket the answer is a short-lived presigned redirect, so the bytes go from the
store to the client without passing through the service; from the local disk the file
is sent as it is (sendfile). Same rules as the ZIP: the owner or an admin, and only
while the job's results are downloadable.
"""

from __future__ import annotations

import uuid

from aiohttp import web

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


@routes.get("/api/jobs/{job_id}/outputs/{file_id}/{variation}")
async def output(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    job = await visible_job(request, await require_user(request))
    chosen = _output_of(job, request.match_info["file_id"], request.match_info["variation"])
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


def _output_of(job: JobState, file_id: str, variation: str) -> OutputState:
    try:
        wanted = (uuid.UUID(file_id), int(variation))
    except ValueError:
        raise NotFound("no such output") from None
    for candidate in job.outputs:
        if (candidate.file_id, candidate.variation_index) == wanted:
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
