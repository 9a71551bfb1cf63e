"""The one place where errors become HTTP answers: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from service.errors import VideoRefresherError

log = logging.getLogger(__name__)

REQUEST_ID = web.RequestKey("request_id", str)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(exc: VideoRefresherError) -> web.Response:
    fields = {k: v for k, v in exc.fields.items() if k in ("field", "file") and v is not None}
    response = web.json_response(error_body(exc.code, exc.message, **fields), status=exc.status)
    retry_after = exc.fields.get("retry_after_s")
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
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
    except VideoRefresherError as exc:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message, extra={"action": "http.error"})
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "_")
        return web.json_response(
            error_body(code, exc.reason),
            status=exc.status,
            headers={k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")},
        )
    except Exception:
        log.exception(
            "unhandled error on %s %s",
            request.method,
            request.path,
            extra={"action": "http.unhandled"},
        )
        return web.json_response(error_body("internal", "internal server error"), status=500)
