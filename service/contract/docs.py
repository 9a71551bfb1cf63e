"""`/api/openapi.json` (the contract) and `/api/docs` (a vendored Swagger UI that renders it).

The renderer is served from the package, never a CDN, with a Content-Security-Policy
that allows only this origin's scripts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web
from pydantic import BaseModel, Field

from service.contract.declare import Raw, declare
from service.contract.document import build_document
from service.errors import NotFound

routes = web.RouteTableDef()

SWAGGER_UI_VERSION = "5.32.4"  # swagger_ui/VENDORED.md says how to upgrade
ASSET_DIR = Path(__file__).with_name("swagger_ui")
ASSETS = {  # the only files served: names never come from the request into a path
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "init.js": "text/javascript",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
CACHE = "public, max-age=3600"
_CACHE: dict[str, bytes] = {}


@routes.get("/api/openapi.json")
@declare(
    summary="This document: the OpenAPI 3.1 contract of every route",
    tags=["contract"],
    auth="none",
    responses={200: Raw("application/json", "The OpenAPI 3.1 document.", {"type": "object"})},
)
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))


@routes.get("/api/docs")
@declare(
    summary="A human-readable reference (Swagger UI, vendored)",
    tags=["contract"],
    auth="none",
    responses={200: Raw("text/html", "The reference page.")},
)
async def docs_page(request: web.Request) -> web.Response:
    return await _asset("index.html", "text/html")


class AssetPath(BaseModel):
    asset: str = Field(description="One of the vendored renderer's files.")


@routes.get("/api/docs/{asset}")
@declare(
    summary="A file of the vendored renderer (script, style sheet, licence)",
    tags=["contract"],
    auth="none",
    path=AssetPath,
    responses={
        200: Raw(("text/javascript", "text/css", "text/plain"), "The file (script, CSS or text).")
    },
)
async def docs_asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    if name not in ASSETS:
        raise NotFound("no such file")
    return await _asset(name, ASSETS[name])


async def _asset(name: str, content_type: str) -> web.Response:
    body = _CACHE.get(name)
    if body is None:  # read once per process, in a thread (the bundle is 1.5 MB)
        body = _CACHE[name] = await asyncio.to_thread((ASSET_DIR / name).read_bytes)
    response = web.Response(body=body, content_type=content_type, charset="utf-8")
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = CACHE
    response.headers["X-Vendored-Version"] = f"swagger-ui-dist {SWAGGER_UI_VERSION}"
    return response
