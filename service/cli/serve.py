"""`serve`: run the HTTP API and the background components until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
from typing import Any

from aiohttp import web

from service.http.app import create_app
from service.settings import Settings

SHUTDOWN_TIMEOUT_S = 30.0  # in-flight requests (downloads) get this long to finish


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the service (migrates the database first)")
    parser.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    # run_app stops accepting on a signal, waits for in-flight requests, then runs the
    # cleanup context: components stop, the pool closes, the embedded server stops.
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        print=lambda message: None,
        access_log=None,
    )
    return 0
