"""`serve`: run the HTTP API and the background components until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from service.http.app import create_app
from service.http.protocol import JsonErrorRunner
from service.metrics.endpoint import metrics_only_app
from service.settings import Settings

SHUTDOWN_TIMEOUT_S = 30.0  # in-flight requests (downloads) get this long to finish


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the service (migrates the database first)")
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(serve(create_app(settings), settings.host, settings.port, settings.metrics_port))
    return 0


async def serve(
    app: web.Application, host: str, port: int, metrics_port: int | None = None
) -> None:
    """What `web.run_app` does, with the runner that answers protocol errors in JSON: on a
    signal, stop accepting, wait for in-flight requests, then run the cleanup context
    (components stop, the pool closes, the embedded server stops)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = JsonErrorRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        async with _metrics_listener(app, host, metrics_port):
            await stop.wait()
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _metrics_listener(
    app: web.Application, host: str, port: int | None
) -> AsyncIterator[None]:
    """`VR_METRICS_PORT`: `/metrics` alone on a port of its own, beside the API's."""
    if port is None:
        yield
        return
    runner = JsonErrorRunner(metrics_only_app(app), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()
