"""Even what aiohttp answers before any handler runs is a JSON error body, logged as one
INFO line rather than an ERROR traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from service.http.app import create_app
from service.http.protocol import JsonErrorRunner
from service.settings import Role, Settings


@pytest.fixture
async def port(settings: Settings) -> AsyncIterator[int]:
    """The app behind the runner `serve` uses, on a loopback port."""
    runner = JsonErrorRunner(create_app(settings.model_copy(update={"role": Role.API})))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        body = await reader.readexactly(int(headers["content-length"]))
        return status, headers, json.loads(body)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),  # a malformed request line
        (b"GET /healthz HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", 400),  # too long
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400),
        (b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404),  # an unknown route
        (b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405),  # an unknown method
    ],
)
async def test_protocol_errors_answer_the_json_error_body_and_log_no_error(
    port: int, raw: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the service behind the runner `serve` uses
    caplog.set_level(logging.INFO)
    # When a client sends a request aiohttp cannot or will not route
    got, headers, body = await _exchange(port, raw)
    # Then the answer is the documented error body
    assert got == status, body
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    # And nothing was logged at ERROR (no traceback for a client's mistake)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
