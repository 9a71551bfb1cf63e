"""`/metrics`: Prometheus text, safe by default (loopback only, or the token when set)."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from service.http.app import create_app
from service.metrics.endpoint import metrics_only_app
from service.settings import Role, Settings
from tests.metrics.support import parse, scrape, value
from tests.netns import Host, inside, two_hosts


def _listening_socket(host: Host) -> socket.socket:
    """A listening socket on `host`'s address (runs in a thread: it enters the namespace)."""
    with inside(host):
        return socket.create_server((host.address, 0))


def _get_from(host: Host, url: str) -> tuple[int, str]:
    """GET `url` from `host`: (status, body). Runs in a thread (blocking I/O)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    with inside(host):
        connection.connect()  # the socket is made in the scraper's namespace
    try:
        connection.request("GET", parts.path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


async def test_a_loopback_scrape_gets_prometheus_text_with_process_and_service_metrics(
    client: Any,
) -> None:
    # Given the API, scraped from loopback with no VR_METRICS_TOKEN set
    response = await client.get("/metrics")
    # Then it answers the text format with the standard process metrics and ours
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = parse(await response.text())
    assert value(samples, "process_resident_memory_bytes") > 0
    assert value(samples, "process_open_fds") > 0
    assert ("vr_log_head_position", frozenset()) in samples
    assert value(samples, "vr_jobs", status="received") == 0


async def test_requests_are_counted_by_route_template_and_status(
    client: Any, alice_headers: dict[str, str]
) -> None:
    labels = {"method": "GET", "route": "/api/jobs/{job_id}", "status": "404"}
    before = value(await scrape(client), "vr_http_requests_total", **labels)
    # When two unknown jobs are asked for (two different ids, one route)
    for job_id in ("00000000-0000-0000-0000-000000000001", "not-a-uuid"):
        response = await client.get(f"/api/jobs/{job_id}", headers=alice_headers)
        assert response.status == 404
    # Then the route's 404 count rose by two, under the template (no ids as labels)
    samples = await scrape(client)
    assert value(samples, "vr_http_requests_total", **labels) == before + 2
    assert value(samples, "vr_http_request_duration_seconds_count", method="GET",
                 route="/api/jobs/{job_id}") >= 2  # fmt: skip
    assert not any("not-a-uuid" in str(key) for key in samples)


@pytest.fixture
async def token_client(aiohttp_client: Any, settings: Settings) -> Any:
    configured = settings.model_copy(update={"role": Role.API, "metrics_token": "s3cret-token"})
    return await aiohttp_client(create_app(Settings.model_validate(configured.model_dump())))


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic s3cret-token"])
async def test_with_a_token_set_a_scrape_without_it_is_refused(
    token_client: Any, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await token_client.get("/metrics", headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_with_a_token_set_a_scrape_with_it_is_answered(token_client: Any) -> None:
    response = await token_client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert response.status == 200
    assert "vr_http_requests_total" in await response.text()


@pytest.fixture
def hosts() -> Iterator[tuple[Host, Host]]:
    with two_hosts() as pair:
        yield pair


@pytest.fixture
async def scraper_elsewhere(
    client: Any, hosts: tuple[Host, Host]
) -> AsyncIterator[tuple[Host, str]]:
    """The same app's metrics listening on one test host, and another test host to scrape
    from: its address is not loopback."""
    server, scraper = hosts
    sock = await asyncio.to_thread(_listening_socket, server)
    runner = web.AppRunner(metrics_only_app(client.app))
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield scraper, f"http://{server.address}:{sock.getsockname()[1]}/metrics"
    finally:
        await runner.cleanup()


async def test_without_a_token_a_client_not_on_loopback_is_refused(
    scraper_elsewhere: tuple[Host, str],
) -> None:
    # Given no VR_METRICS_TOKEN, a scraper on another host (a non-loopback address)
    scraper, url = scraper_elsewhere
    # When it scrapes
    status, body = await asyncio.to_thread(_get_from, scraper, url)
    # Then it is refused with the JSON error body
    assert status == 403, body[:200]
    assert json.loads(body)["error"]["code"] == "forbidden"


async def test_the_metrics_port_serves_metrics_and_nothing_else(
    client: Any, aiohttp_client: Any
) -> None:
    # Given the VR_METRICS_PORT listener beside the API
    metrics_port = await aiohttp_client(metrics_only_app(client.app))
    # Then it serves /metrics and no API route
    response = await metrics_port.get("/metrics")
    assert response.status == 200 and "process_cpu_seconds_total" in await response.text()
    other = await metrics_port.get("/api/jobs")
    assert other.status == 404
    assert (await other.json())["error"]["code"] == "not_found"
