"""`/api/uploads`: the tus 1.0 resumable-upload endpoint (creation, creation-with-upload,
termination, expiration, checksum).

Every request needs the caller's credentials (through `require_user`, like every API
route) and `Tus-Resumable: 1.0.0` (412 otherwise); another user's upload is 404, exactly
like an unknown one. Errors are the usual JSON bodies, with tus's headers added.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from service.accounts.principal import Principal
from service.contract import Raw, declare
from service.errors import TusVersionUnsupported, VideoRefresherError, WrongContentType
from service.http.auth import require_user
from service.http.errors import error_response
from service.http.keys import SERVICES
from service.tus import lifecycle, protocol, receive, rows
from service.tus.context import UploadContext
from service.tus.hashes import HashCache

routes = web.RouteTableDef()

# The running SHA-256 of uploads this process is receiving (service/tus/hashes.py).
HASHES = web.AppKey("tus_hashes", HashCache)

TusHandler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- the contract (service/contract): what each route takes and answers -----------------

_TUS_RESUMABLE = Field(alias="Tus-Resumable", description="The protocol version: `1.0.0`.")
_CHECKSUM = Field(
    default=None,
    alias="Upload-Checksum",
    description="`sha1|sha256 <base64 digest>` of this body; a mismatch is 460.",
)


class UploadPath(BaseModel):
    upload_id: str = Field(description="The id from the creation's `Location`.")


class VersionHeaders(BaseModel):
    tus_resumable: Literal["1.0.0"] = _TUS_RESUMABLE


class CreateHeaders(BaseModel):
    tus_resumable: Literal["1.0.0"] = _TUS_RESUMABLE
    upload_length: int = Field(alias="Upload-Length", ge=0, description="The file's size.")
    upload_metadata: str = Field(
        alias="Upload-Metadata",
        pattern=r"(^|,) *filename [A-Za-z0-9+/]+=*( *,|$)",
        description="`filename <base64>` (required), `filetype <base64>` (optional).",
    )
    upload_checksum: str | None = _CHECKSUM


class PatchHeaders(BaseModel):
    tus_resumable: Literal["1.0.0"] = _TUS_RESUMABLE
    upload_offset: int = Field(alias="Upload-Offset", ge=0, description="The current offset.")
    upload_checksum: str | None = _CHECKSUM


# Any bytes are a valid chunk: an empty schema, so no "schema-violating" body exists.
OCTETS = Raw(protocol.OFFSET_CONTENT_TYPE, "The next bytes of the file.", {})
_TUS_HEADERS = {"Tus-Resumable": "`1.0.0`."}
_OFFSET = {"Upload-Offset": "Bytes stored durably so far."}
_EXPIRES = {"Upload-Expires": "When an unfinished or unused upload expires (RFC 9110 date)."}
_REFUSALS = {
    412: "`Tus-Resumable` is missing or not `1.0.0` (`Tus-Version` says what is).",
    410: "The upload has expired.",
}


def context(request: web.Request) -> UploadContext:
    services = request.app[SERVICES]
    return UploadContext(
        pool=services.database.pool,
        hashes=request.app[HASHES],
        clock=services.clock,
        expiry=timedelta(seconds=services.settings.upload_expiry_s),
        tus_dir=services.settings.tus_dir,
    )


def tus(*, needs_version: bool = True) -> Callable[[TusHandler], Handler]:
    """Authenticate, check `Tus-Resumable`, and give every answer (errors too) the
    headers tus clients look for."""

    def decorate(handler: TusHandler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                principal = await require_user(request)
                if needs_version:
                    protocol.check_resumable(request.headers)
                response = await handler(request, principal)
            except VideoRefresherError as exc:
                response = error_response(exc)
                if isinstance(exc, TusVersionUnsupported):
                    response.headers["Tus-Version"] = protocol.VERSION
            response.headers["Tus-Resumable"] = protocol.VERSION
            return response

        return wrapped

    return decorate


def _tus_route(
    summary: str,
    status: int,
    answer_headers: Mapping[str, str],
    *,
    path: type[BaseModel] | None = UploadPath,
    headers: type[BaseModel] | None = VersionHeaders,
    errors: Mapping[int, str] | None = None,
    body: Raw | None = None,
    body_required: bool = True,
    needs_version: bool = True,
) -> Callable[[TusHandler], Handler]:
    """A tus route: its contract and the `tus` wrapper. By default it is about one upload
    (`upload_id`, `Tus-Resumable`); it answers `status` with no body and `answer_headers`
    beside `Tus-Resumable`, which the wrapper sets on every answer."""
    contract = declare(
        summary=summary,
        tags=["uploads"],
        path=path,
        headers=headers,
        body=body,
        body_required=body_required,
        responses={status: None},
        response_headers={status: {**_TUS_HEADERS, **answer_headers}},
        errors=errors,
    )

    def decorate(handler: TusHandler) -> Handler:
        return contract(tus(needs_version=needs_version)(handler))

    return decorate


@routes.route("OPTIONS", "/api/uploads")
@_tus_route(
    "tus discovery: version, extensions, size limit, checksum algorithms",
    204,
    {
        "Tus-Version": "`1.0.0`.",
        "Tus-Extension": f"`{protocol.EXTENSIONS}`.",
        "Tus-Max-Size": "`VR_MAX_UPLOAD_BYTES`.",
        "Tus-Checksum-Algorithm": "`sha1,sha256`.",
    },
    path=None,
    headers=None,
    needs_version=False,
)
async def tus_options(request: web.Request, principal: Principal) -> web.StreamResponse:
    settings = request.app[SERVICES].settings
    return web.Response(
        status=204,
        headers={
            "Tus-Version": protocol.VERSION,
            "Tus-Extension": protocol.EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(protocol.CHECKSUM_ALGORITHMS),
        },
    )


@routes.post("/api/uploads")
@_tus_route(
    "Create a resumable (tus) upload; with a body, store its first bytes at once",
    201,
    {
        **_EXPIRES,
        "Location": "`/api/uploads/{upload_id}`.",
        "Upload-Offset": "With a body (creation-with-upload): the bytes stored.",
    },
    path=None,
    headers=CreateHeaders,
    body=OCTETS,
    body_required=False,
    errors={
        412: _REFUSALS[412],
        413: "`Upload-Length` is over `VR_MAX_UPLOAD_BYTES`, or the body passes it.",
        415: "A body without `application/offset+octet-stream`, or not MP4/MOV.",
        460: "The body does not match its `Upload-Checksum`.",
        507: "Not enough disk space for `Upload-Length`.",
    },
)
async def create_upload(request: web.Request, principal: Principal) -> web.StreamResponse:
    length = protocol.upload_length(request.headers)
    meta = protocol.metadata(request.headers.get("Upload-Metadata"))
    with_body = _has_body(request)
    if with_body:
        _check_content_type(request)
    services = request.app[SERVICES]
    ctx = context(request)
    row = await lifecycle.create_upload(ctx, services.settings, principal, length, meta)
    headers = {"Location": f"/api/uploads/{row.upload_id}"}
    if with_body:  # creation-with-upload: the first bytes at once
        row = await _receive(request, ctx, principal, row.upload_id, sent_offset=0)
        headers["Upload-Offset"] = str(row.offset)
    headers["Upload-Expires"] = protocol.http_date(row.expires_at)
    return web.Response(status=201, headers=headers)


@routes.head("/api/uploads/{upload_id}")
@_tus_route(
    "An upload's durable offset, length and expiry",
    200,
    {
        **_OFFSET,
        **_EXPIRES,
        "Upload-Length": "The file's size.",
        "Upload-Metadata": "As sent at creation.",
        "Cache-Control": "`no-store`.",
    },
    errors=_REFUSALS,
)
async def upload_offset(request: web.Request, principal: Principal) -> web.StreamResponse:
    row = await lifecycle.visible_upload(context(request), principal,
                                         request.match_info["upload_id"])  # fmt: skip
    headers = {
        "Upload-Offset": str(row.offset),
        "Upload-Length": str(row.length),
        "Upload-Metadata": protocol.encode_metadata(protocol.Metadata(row.filename, row.filetype)),
        "Cache-Control": "no-store",
    }
    if row.job_id is None:
        headers["Upload-Expires"] = protocol.http_date(row.expires_at)
    return web.Response(status=200, headers=headers)


@routes.patch("/api/uploads/{upload_id}")
@_tus_route(
    "Append bytes at the upload's offset",
    204,
    {**_OFFSET, **_EXPIRES},
    headers=PatchHeaders,
    body=OCTETS,
    errors={
        **_REFUSALS,
        409: "`Upload-Offset` is not the upload's offset.",
        413: "The body passes `Upload-Length`; nothing beyond it is kept.",
        415: "Not `application/offset+octet-stream`; or the content is not MP4/MOV "
        "(judged at the first 64 KiB; the upload is deleted).",
        423: "Another PATCH of this upload is running.",
        460: "The body does not match its `Upload-Checksum`; it was discarded.",
        507: "The disk filled.",
    },
)
async def patch_upload(request: web.Request, principal: Principal) -> web.StreamResponse:
    _check_content_type(request)
    sent_offset = protocol.upload_offset(request.headers)
    ctx = context(request)
    upload_id = lifecycle.parse_id(request.match_info["upload_id"])
    row = await _receive(request, ctx, principal, upload_id, sent_offset=sent_offset)
    return web.Response(
        status=204,
        headers={
            "Upload-Offset": str(row.offset),
            "Upload-Expires": protocol.http_date(row.expires_at),
        },
    )


@routes.delete("/api/uploads/{upload_id}")
@_tus_route(
    "Terminate an upload: its bytes are deleted",
    204,
    {},
    errors={**_REFUSALS, 409: "The upload belongs to a job now."},
)
async def delete_upload(request: web.Request, principal: Principal) -> web.StreamResponse:
    ctx = context(request)
    row = await lifecycle.visible_upload(ctx, principal, request.match_info["upload_id"])
    await lifecycle.terminate(ctx, row)
    return web.Response(status=204)


async def _receive(
    request: web.Request,
    ctx: UploadContext,
    principal: Principal,
    upload_id: uuid.UUID,
    *,
    sent_offset: int,
) -> rows.UploadRow:
    return await receive.receive(
        ctx,
        principal,
        upload_id,
        request.content,
        sent_offset=sent_offset,
        content_length=request.content_length,
        checksum=protocol.checksum(request.headers.get("Upload-Checksum")),
    )


def _has_body(request: web.Request) -> bool:
    return request.content_length != 0 and request.can_read_body


def _check_content_type(request: web.Request) -> None:
    if request.content_type != protocol.OFFSET_CONTENT_TYPE:
        raise WrongContentType()
