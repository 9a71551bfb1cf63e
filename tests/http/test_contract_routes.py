"""`/api/openapi.json` serves the built contract; `/api/docs` the vendored reference."""

from __future__ import annotations

from typing import Any

from service.contract.docs import ASSETS, SWAGGER_UI_VERSION
from service.contract.document import build_document


async def test_the_served_document_is_the_one_built_from_the_routes(client: Any) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    assert await response.json() == build_document(client.app)


async def test_the_reference_page_loads_only_vendored_files_under_a_strict_policy(
    client: Any,
) -> None:
    # Given the reference page
    page = await client.get("/api/docs")
    html = await page.text()
    assert page.status == 200 and page.content_type == "text/html"
    # Then it allows scripts from this origin only and points at no other host
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "http" not in html and "<script>" not in html  # no CDN, no inline script
    # And every file it names is served, with the renderer's licence beside it
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js", "LICENSE"):
        asset = await client.get(f"/api/docs/{name}")
        assert asset.status == 200, name
        assert asset.content_type == ASSETS[name]
    licence = await (await client.get("/api/docs/LICENSE")).text()
    assert "Apache License" in licence
    assert SWAGGER_UI_VERSION in (await client.get("/api/docs/swagger-ui-bundle.js")).headers.get(
        "X-Vendored-Version", ""
    )


async def test_a_file_not_in_the_vendored_set_is_a_json_404(client: Any) -> None:
    for name in ("..%2Fdocs.py", "index.html.map", "swagger-ui-bundle.js.map"):
        response = await client.get(f"/api/docs/{name}")
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
