"""JSON error bodies also for what aiohttp answers before any handler runs.

A malformed request line, an over-long header, a bad chunked body: aiohttp's protocol
handler answers those itself, with plain text, and logs a traceback at ERROR. Here its
`handle_error` answers `{"error": {"code", "message"}}` instead and logs a client's
mistake as one INFO line; only a 5xx keeps the traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from service.http.errors import error_body

log = logging.getLogger(__name__)


class JsonErrorRequestHandler(RequestHandler):
    """aiohttp's protocol handler, with JSON error answers."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        phrase = _phrase(status)
        under_way = request.writer.output_size > 0
        if under_way and isinstance(exc, ConnectionError):
            # The client went away mid-response (the error middleware logged it at INFO):
            # nobody is owed an answer, and it is no server error.
            raise ConnectionError("the client went away mid-response")
        if status >= 500:
            log.error("%s answering %s %s", status, request.method, request.path, exc_info=exc,
                      extra={"action": "http.protocol_error"})  # fmt: skip
        else:
            log.info("%s from %s: %s", status, request.remote, _reason(exc, message, phrase),
                     extra={"action": "http.bad_request"})  # fmt: skip
        if under_way:
            raise ConnectionError("the response was under way: no error body can follow")
        detail = phrase if status >= 500 else _reason(exc, message, phrase)
        code = phrase.lower().replace(" ", "_") if status < 500 else "internal"
        response = web.json_response(error_body(code, detail), status=status)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    """aiohttp's low-level server, making `JsonErrorRequestHandler`s for its connections."""

    def __call__(self) -> RequestHandler:
        return JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """`AppRunner` whose connections answer protocol errors with JSON (used by `serve`
    and by tests that need the real thing)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The application builds its `Server` (with its handler, request factory and
        # settings); only the class that makes each connection's protocol changes.
        server.__class__ = JsonErrorServer
        return server


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _reason(exc: BaseException | None, message: str | None, phrase: str) -> str:
    text: Any = getattr(exc, "message", None) or message or phrase
    return str(text).splitlines()[0][:200] if str(text).strip() else phrase
