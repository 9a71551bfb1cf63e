"""Answer a planned body under HTTP's conditional and range rules (RFC 9110): the job's
ZIP and one variation alike.

`If-None-Match` naming the plan's ETag → 304; one `bytes=` range → 206 with
`Content-Range`, unless `If-Range` names another ETag (then the whole body: the client's
partial copy is stale); HEAD → the same headers without a body. The body goes by
download/send.py (sendfile from the disk, ranged GETs from a bucket).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract import Raw
from service.download.archive import ArchivePlan
from service.download.disposition import content_disposition
from service.download.ranges import content_range, parse_range
from service.download.send import send_range
from service.storage.interface import ObjectStorage

CACHING = "private, no-transform"


class RangeHeaders(BaseModel):
    range: str | None = Field(
        default=None, alias="Range", description="One `bytes=` range; several: the whole body."
    )
    if_range: str | None = Field(
        default=None, alias="If-Range", description="The ETag the range belongs to."
    )
    if_none_match: str | None = Field(
        default=None,
        alias="If-None-Match",
        description="ETags the client holds (or `*`): a match answers 304 with no body.",
    )


def ranged_contract(media_type: str, what: str, whole: str) -> dict[str, Any]:
    """`declare` arguments for a ranged answer: 200 the whole `what`, 206 a range of it,
    304 when the client's copy is current."""
    headers = {
        "ETag": "Strong: equal tags, equal bytes.",
        "Content-Disposition": "The file name.",
        "Accept-Ranges": "`bytes`.",
    }
    return {
        "headers": RangeHeaders,
        "responses": {
            200: Raw(media_type, whole, headers=headers),
            206: Raw(
                media_type,
                f"The requested range of the {what}.",
                headers={**headers, "Content-Range": "Which bytes."},
            ),
            304: None,  # If-None-Match matched
        },
        "response_headers": {304: {"ETag": f"The {what}'s ETag."}},
    }


async def send_planned(
    request: web.Request,
    plan: ArchivePlan,
    storage: ObjectStorage,
    *,
    content_type: str,
    filename: str,
) -> tuple[web.StreamResponse, int]:
    """The answer to `request` for `plan`, and how many body bytes it sent (0 for HEAD
    and 304). Once the first byte is out, a failure cuts the connection (send.py)."""
    if _none_match(request.headers.get("If-None-Match"), plan.etag):
        return web.Response(status=304, headers={"ETag": plan.etag, "Cache-Control": CACHING}), 0
    span = None
    if_range = request.headers.get("If-Range")
    if if_range is None or if_range == plan.etag:
        span = parse_range(request.headers.get("Range"), plan.size)
    start, end = span or (0, plan.size)
    response = web.StreamResponse(status=206 if span else 200)
    response.content_type = content_type
    response.content_length = end - start
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["ETag"] = plan.etag
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = CACHING
    if span:
        response.headers["Content-Range"] = content_range(start, end, plan.size)
    await response.prepare(request)
    if request.method == "HEAD":
        return response, 0
    await send_range(request, response, plan, start, end, storage)
    await response.write_eof()
    return response, end - start


def _none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal to ours (weak comparison)."""
    if header is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
