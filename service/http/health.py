"""Liveness and readiness: is the process up; can it do its job right now."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from service.contract import declare
from service.contract.errors import ErrorDetail
from service.db.migrate import pending_migrations
from service.events.log_reader import events_behind
from service.http.keys import SERVICES
from service.projections import checkpoints, job_view

routes = web.RouteTableDef()

READY_CHECK_TIMEOUT_S = 2.0  # a readiness probe must answer even when the database hangs


class Health(BaseModel):
    """The process is up."""

    status: str


class Readiness(BaseModel):
    """Whether this instance can serve now: the database, migrations, the job view's lag,
    and each background component's own report."""

    model_config = ConfigDict(extra="allow")

    status: str
    database: str


class Unready(Readiness):
    """Not ready: the same report, plus the error every 4xx/5xx carries."""

    error: ErrorDetail


def _unready(body: dict[str, Any], reason: str) -> web.Response:
    body["error"] = {"code": "unavailable", "message": f"not ready: {reason}"}
    return web.json_response(body, status=503)


@routes.get("/healthz")
@declare(
    summary="Liveness: the process answers", tags=["health"], auth="none", responses={200: Health}
)
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
@declare(
    summary="Readiness: database, migrations, projections, components",
    tags=["health"],
    auth="none",
    responses={200: Readiness, 503: Unready},
)
async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body: dict[str, Any] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_S), services.database.pool.acquire() as conn:
            pending = await pending_migrations(conn)
            checkpoint = await checkpoints.peek(conn, job_view.NAME)
            lag = await events_behind(conn, checkpoint)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        database = f"unreachable: {exc.__class__.__name__}"
        return _unready({"status": "unavailable", "database": database}, f"database {database}")
    body["database"] = "ok"
    body["migrations"] = {"pending": [m.name for m in pending]}
    body["projections"] = {job_view.NAME: {"lag_events": lag, "position": checkpoint.position}}
    ready = not pending
    problems = ["pending migrations"] if pending else []
    for name, probe in services.readiness.items():
        report = probe()
        if inspect.isawaitable(report):
            report = await report
        body[name] = report
        if isinstance(report, dict) and report.get("ok") is False:
            ready = False
            problems.append(name)
    body["status"] = "ready" if ready else "unavailable"
    if not ready:
        return _unready(body, ", ".join(problems))
    return web.json_response(body)
