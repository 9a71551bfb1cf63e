"""`/api/uploads`: the tus 1.0 resumable-upload endpoint (creation, creation-with-upload,
termination, expiration, checksum).

Every request needs the caller's credentials (through `require_user`, like every API
route) and `Tus-Resumable: 1.0.0` (412 otherwise); another user's upload is 404, exactly
like an unknown one. Errors are the usual JSON bodies, with tus's headers added.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from service.accounts.principal import Principal
from service.errors import TusVersionUnsupported, VideoRefresherError, WrongContentType
from service.http.auth import require_user
from service.http.errors import error_response
from service.http.keys import SERVICES
from service.tus import lifecycle, protocol, receive, rows
from service.tus.hashes import HashCache

routes = web.RouteTableDef()

# The running SHA-256 of uploads this process is receiving (service/tus/hashes.py).
HASHES = web.AppKey("tus_hashes", HashCache)

TusHandler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]


def context(request: web.Request) -> receive.UploadContext:
    services = request.app[SERVICES]
    return receive.UploadContext(
        pool=services.database.pool,
        hashes=request.app[HASHES],
        clock=services.clock,
        expiry=timedelta(seconds=services.settings.upload_expiry_s),
        tus_dir=services.settings.tus_dir,
    )


def tus(*, needs_version: bool = True) -> Callable[[TusHandler], web.RequestHandler]:
    """Authenticate, check `Tus-Resumable`, and give every answer (errors too) the
    headers tus clients look for."""

    def decorate(handler: TusHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
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


@routes.route("OPTIONS", "/api/uploads")
@tus(needs_version=False)
async def options(request: web.Request, principal: Principal) -> web.StreamResponse:
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
@tus()
async def create(request: web.Request, principal: Principal) -> web.StreamResponse:
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
        row = await _receive(request, ctx, row, sent_offset=0)
        headers["Upload-Offset"] = str(row.offset)
    headers["Upload-Expires"] = protocol.http_date(row.expires_at)
    return web.Response(status=201, headers=headers)


@routes.head("/api/uploads/{upload_id}")
@tus()
async def head(request: web.Request, principal: Principal) -> web.StreamResponse:
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
@tus()
async def patch(request: web.Request, principal: Principal) -> web.StreamResponse:
    _check_content_type(request)
    sent_offset = protocol.upload_offset(request.headers)
    ctx = context(request)
    row = await lifecycle.visible_upload(ctx, principal, request.match_info["upload_id"])
    row = await _receive(request, ctx, row, sent_offset=sent_offset)
    return web.Response(
        status=204,
        headers={
            "Upload-Offset": str(row.offset),
            "Upload-Expires": protocol.http_date(row.expires_at),
        },
    )


@routes.delete("/api/uploads/{upload_id}")
@tus()
async def delete(request: web.Request, principal: Principal) -> web.StreamResponse:
    ctx = context(request)
    row = await lifecycle.visible_upload(ctx, principal, request.match_info["upload_id"])
    await lifecycle.terminate(ctx, row)
    return web.Response(status=204)


async def _receive(
    request: web.Request, ctx: receive.UploadContext, row: rows.UploadRow, *, sent_offset: int
) -> rows.UploadRow:
    return await receive.receive(
        ctx,
        row,
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
