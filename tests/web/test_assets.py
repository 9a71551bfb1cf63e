"""The page and its files: strong ETags, revalidation, and the security headers every
answer carries (a CSP with no inline script and no other origin, nosniff, no framing)."""

from __future__ import annotations

from typing import Any

import pytest

from service.http.app import create_app
from service.settings import Role, Settings
from service.web.assets import STATIC_DIR


@pytest.fixture
async def web(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(create_app(settings.model_copy(update={"role": Role.API})))


async def test_the_page_is_served_with_a_strict_content_security_policy(web: Any) -> None:
    response = await web.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    header = response.headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
    assert policy["frame-ancestors"] == "'none'"
    assert all("http" not in v and "unsafe" not in v and "*" not in v for v in policy.values())
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_api_answers_and_errors_carry_the_same_headers(web: Any) -> None:
    for path in ("/api/jobs", "/healthz", "/static/nope.js"):
        response = await web.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


async def test_static_files_have_strong_etags_and_revalidate_to_304(web: Any) -> None:
    response = await web.get("/static/js/main.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert await response.read() == (STATIC_DIR / "js" / "main.js").read_bytes()
    again = await web.get("/static/js/main.js", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    other = await web.get("/static/app.css")
    assert other.headers["ETag"] != etag


async def test_unknown_static_paths_and_traversal_are_404_json(web: Any) -> None:
    for path in ("/static/nope.js", "/static/../settings.py", "/static/%2e%2e/__init__.py"):
        response = await web.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"]["code"] == "not_found"


def test_the_page_has_no_inline_script_and_loads_nothing_from_elsewhere() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in html and "onclick" not in html
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".html", ".js", ".css") and "vendor" not in path.parts:
            text = path.read_text()
            assert "http://" not in text and "https://" not in text, path
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text, path


def test_the_vendored_tus_client_is_pinned_with_its_licence() -> None:
    vendor = STATIC_DIR / "vendor" / "tus-js-client"
    assert "tus-js-client 4.3.1" in (vendor / "VERSION").read_text()
    assert (
        "MIT" in (vendor / "LICENSE").read_text()
        or "Permission is hereby granted" in (vendor / "LICENSE").read_text()
    )
    assert (vendor / "tus.min.js").stat().st_size > 10_000
