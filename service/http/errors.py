"""The one place where errors become HTTP answers: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from service.db.unavailable import is_database_down
from service.errors import DatabaseUnavailable, RangeNotSatisfiable, VideoRefresherError

log = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)
_SHOWN_FIELDS = ("field", "file", "job_status", "upload")  # error fields a client may see


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(exc: VideoRefresherError) -> web.Response:
    fields = {k: v for k, v in exc.fields.items() if k in _SHOWN_FIELDS and v is not None}
    response = web.json_response(error_body(exc.code, exc.message, **fields), status=exc.status)
    retry_after = exc.fields.get("retry_after_s")
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    if isinstance(exc, RangeNotSatisfiable):
        response.headers["Content-Range"] = f"bytes */{exc.size}"
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="video-refresher"'
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map our errors to JSON; aiohttp's own HTTP errors keep their status but get a JSON
    body; anything else is logged and becomes a 500 that reveals nothing."""
    request[REQUEST_ID] = request.headers.get("X-Request-Id") or str(uuid.uuid4())
    try:
        return await handler(request)
    except Exception as exc:
        if request.writer is not None and request.writer.output_size > 0:
            # The response is under way: no error body can follow. Re-raising makes aiohttp
            # drop the connection, so the client sees a truncated transfer.
            _log_broken_stream(request, exc)
            raise
        return _error_for(request, exc)


def _error_for(request: web.Request, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, VideoRefresherError):
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message, extra={"action": "http.error"})
        return error_response(exc)
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        code = exc.reason.lower().replace(" ", "_")
        kept = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        return web.json_response(error_body(code, exc.reason), status=exc.status, headers=kept)
    if isinstance(exc, web.HTTPException):
        raise exc  # redirects and other non-errors pass through
    if is_database_down(exc):
        log.warning("database unavailable on %s %s: %r", request.method, request.path, exc,
                    extra={"action": "http.database_unavailable"})  # fmt: skip
        return error_response(DatabaseUnavailable())
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc,
              extra={"action": "http.unhandled"})  # fmt: skip
    return web.json_response(error_body("internal", "internal server error"), status=500)


def _log_broken_stream(request: web.Request, exc: Exception) -> None:
    if isinstance(exc, ConnectionError):
        log.info("client went away during %s %s", request.method, request.path,
                 extra={"action": "http.client_gone"})  # fmt: skip
    else:
        log.error("aborted %s %s mid-response: %r", request.method, request.path, exc,
                  extra={"action": "http.aborted"})  # fmt: skip
