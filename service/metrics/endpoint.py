"""`GET /metrics` in Prometheus text format, and the HTTP request metrics.

Safe by default: with `VR_METRICS_TOKEN` set, a scrape must send it as a bearer token;
without it, only loopback clients are answered (a scraper on the same host, or a
sidecar). The same handler serves the API's port and, with `VR_METRICS_PORT`, a
listener of its own (for worker and reactors processes, whose API port need not be
exposed).
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.contract import Raw, declare
from service.errors import MetricsForbidden, Unauthorized
from service.http.errors import error_middleware
from service.http.keys import SERVICES
from service.metrics import catalogue as m
from service.metrics.refresh import refresh
from service.settings import Settings

routes = web.RouteTableDef()

PATH = "/metrics"
DOWNLOAD_ROUTE = "/api/jobs/{job_id}/download"
UNMATCHED = "unmatched"  # the route label of requests no route matched (bounded cardinality)


@routes.get(PATH)
@declare(
    summary="Prometheus metrics of this process (text format)",
    tags=["operations"],
    auth="metrics",
    responses={200: Raw("text/plain", "The Prometheus text exposition format.")},
    errors={
        401: "VR_METRICS_TOKEN is set and the bearer token is not it.",
        403: "VR_METRICS_TOKEN is not set and the client is not on loopback.",
    },
)
async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    authorise_scrape(request, services.settings)
    await refresh(services.database.pool)
    return scrape_response()


def authorise_scrape(request: web.Request, settings: Settings) -> None:
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        )
        if not ok:
            raise Unauthorized("metrics need the VR_METRICS_TOKEN bearer token")
    elif not _is_loopback(request.remote):
        raise MetricsForbidden()


def scrape_response() -> web.Response:
    response = web.Response(body=generate_latest(m.REGISTRY))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False  # a unix socket peer has no address; refuse rather than guess


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by route template (outermost: it sees the status the
    error mapping chose)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = _route(request)
        m.HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        m.HTTP_DURATION.labels(request.method, route).observe(time.perf_counter() - started)
        if route == DOWNLOAD_ROUTE:
            m.DOWNLOAD_REQUESTS.labels(str(status)).inc()
            if status == 206:
                m.DOWNLOAD_RESUMES.inc()


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def metrics_only_app(main: web.Application) -> web.Application:
    """The `VR_METRICS_PORT` listener: `/metrics` only, reading the main app's services."""

    async def scrape(request: web.Request) -> web.Response:
        services = main[SERVICES]
        authorise_scrape(request, services.settings)
        await refresh(services.database.pool)
        return scrape_response()

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get(PATH, scrape)
    return app
