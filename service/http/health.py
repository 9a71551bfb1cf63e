"""Liveness and readiness: is the process up; can it do its job right now."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import asyncpg
from aiohttp import web

from service.db.migrate import pending_migrations
from service.events.log_reader import events_behind
from service.http.keys import SERVICES
from service.projections import checkpoints, job_view

routes = web.RouteTableDef()

READY_CHECK_TIMEOUT_S = 2.0  # a readiness probe must answer even when the database hangs


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body: dict[str, Any] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_S), services.database.pool.acquire() as conn:
            pending = await pending_migrations(conn)
            checkpoint = await checkpoints.peek(conn, job_view.NAME)
            lag = await events_behind(conn, checkpoint)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return web.json_response(
            {"status": "unavailable", "database": f"unreachable: {exc.__class__.__name__}"},
            status=503,
        )
    body["database"] = "ok"
    body["migrations"] = {"pending": [m.name for m in pending]}
    body["projections"] = {job_view.NAME: {"lag_events": lag, "position": checkpoint.position}}
    ready = not pending
    for name, probe in services.readiness.items():
        report = probe()
        if inspect.isawaitable(report):
            report = await report
        body[name] = report
        if isinstance(report, dict) and report.get("ok") is False:
            ready = False
    body["status"] = "ready" if ready else "unavailable"
    return web.json_response(body, status=200 if ready else 503)
