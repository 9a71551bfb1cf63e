"""`/metrics`: Prometheus text, safe by default (loopback only, or the token when set)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from service.http.app import create_app
from service.metrics.endpoint import metrics_only_app
from service.settings import Role, Settings
from tests.metrics.support import parse, scrape, value


def _non_loopback_address() -> str:
    """This host's address on a non-loopback interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("no non-loopback interface to connect from")
    return address


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
async def public_url(client: Any) -> AsyncIterator[str]:
    """The same app's metrics, listening on a non-loopback interface."""
    address = _non_loopback_address()
    runner = web.AppRunner(metrics_only_app(client.app))
    await runner.setup()
    site = web.TCPSite(runner, address, 0)
    await site.start()
    try:
        yield f"http://{address}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_without_a_token_a_client_not_on_loopback_is_refused(public_url: str) -> None:
    # Given no VR_METRICS_TOKEN, a scraper connecting over a non-loopback interface
    async with aiohttp.ClientSession() as session, session.get(f"{public_url}/metrics") as got:
        # Then it is refused with the JSON error body
        assert got.status == 403
        assert (await got.json())["error"]["code"] == "forbidden"


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
