"""Liveness and readiness endpoints."""

from __future__ import annotations

from typing import Any

from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Settings


async def test_healthz_answers_while_the_process_is_alive(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json()) == {"status": "ok"}


async def test_readyz_reports_database_migrations_and_projection_lag(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 200, body
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["migrations"] == {"pending": []}
    assert body["projections"]["job_view"]["lag_events"] == 0


async def test_unknown_routes_answer_a_json_error(aiohttp_client: Any, settings: Settings) -> None:
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/nope")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_an_unready_answer_keeps_its_report_and_carries_the_error_body(
    aiohttp_client: Any, settings: Settings
) -> None:
    # Given a component that reports it cannot work
    client = await aiohttp_client(create_app(settings))
    client.app[SERVICES].readiness["stuck_component"] = lambda: {"ok": False}
    # When readiness is asked for
    response = await client.get("/readyz")
    body = await response.json()
    # Then it is a 503 with the report, and the error object every 4xx/5xx carries
    assert response.status == 503
    assert body["status"] == "unavailable" and body["stuck_component"] == {"ok": False}
    assert body["error"]["code"] == "unavailable"
    assert "stuck_component" in body["error"]["message"]
