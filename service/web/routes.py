"""`GET /` (the page) and `GET /static/{path}` (its CSS, modules and vendored libraries).

The page is one HTML document; its views are ES modules chosen by the URL's fragment, so
the service needs no route per view and no server-side templates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from service.contract import Raw, declare
from service.errors import NotFound
from service.web.assets import Asset, load_assets

ASSETS = web.AppKey("web_assets", dict[str, Asset])

routes = web.RouteTableDef()


@routes.get("/")
@declare(
    summary="The web page: sign in, upload, watch, preview and download",
    tags=["page"],
    auth="none",
    responses={200: Raw("text/html", "The page (its views are ES modules under /static/).")},
)
async def page(request: web.Request) -> web.Response:
    return _send(request, request.app[ASSETS]["index.html"])


@routes.get("/static/{path:.+}")
@declare(
    summary="The page's CSS, ES modules and vendored libraries (strong ETags)",
    tags=["page"],
    auth="none",
    responses={
        200: Raw(("text/css", "text/javascript", "text/plain"), "The file."),
        304: None,
    },
    errors={404: "No such file."},
)
async def static(request: web.Request) -> web.Response:
    asset = request.app[ASSETS].get(request.match_info["path"])
    if asset is None or request.match_info["path"] == "index.html":
        raise NotFound("no such file")
    return _send(request, asset)


def _send(request: web.Request, asset: Asset) -> web.Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache"}
    if asset.etag in _tags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})


def _tags(header: str) -> set[str]:
    return {t.strip() for t in header.split(",") if t.strip()}


async def assets_ctx(app: web.Application) -> AsyncIterator[None]:
    app[ASSETS] = await asyncio.to_thread(load_assets)
    yield
