"""Build the aiohttp application; services live in its cleanup context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from service.bootstrap import running_services
from service.clock import Clock
from service.contract import docs as contract_docs
from service.http import (
    admin,
    auth_routes,
    cancel,
    download,
    health,
    jobs,
    live,
    output,
    thumbnails,
    uploads,
)
from service.http.errors import error_middleware
from service.http.keys import SERVICES
from service.metrics import endpoint as metrics_endpoint
from service.settings import Settings
from service.web import routes as web_routes
from service.web.headers import add_security_headers

ROUTE_TABLES: list[web.RouteTableDef] = [
    health.routes,
    auth_routes.routes,
    jobs.routes,
    download.routes,
    contract_docs.routes,  # issue 14: /api/openapi.json, /api/docs
    metrics_endpoint.routes,  # issue 14: /metrics
    cancel.routes,  # issue 10
    output.routes,  # one variation alone, seekable (issue 12)
    live.routes,  # issue 10
    uploads.routes,  # tus resumable uploads (issue 11)
    # The web page (issue 12)
    admin.routes,
    thumbnails.routes,
    web_routes.routes,
]


def _services_ctx(
    settings: Settings, clock: Clock | None
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async with running_services(settings, clock=clock) as services:
            app[SERVICES] = services
            yield

    return ctx


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    # The metrics middleware is outermost: it counts the status the error mapping chose.
    app = web.Application(middlewares=[metrics_endpoint.metrics_middleware, error_middleware])
    app.cleanup_ctx.append(_services_ctx(settings, clock))
    app.cleanup_ctx.append(auth_routes.accounts_ctx)
    app.cleanup_ctx.append(live.live_ctx)  # issue 10: the shared reader of live streams
    app.on_shutdown.append(live.close_streams)
    app[uploads.HASHES] = uploads.HashCache()  # issue 11: running hashes of tus uploads
    app.cleanup_ctx.append(web_routes.assets_ctx)
    app.on_response_prepare.append(add_security_headers)
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
