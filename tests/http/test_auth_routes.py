"""Logging in and out over HTTP: tokens, expiry, the limiter, one answer for bad logins."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from service.clock import FixedClock
from service.http.app import create_app
from service.http.keys import SERVICES
from service.settings import Settings
from tests.accounts.support import PASSWORD, bearer, log_in, make_user


async def test_login_answers_a_token_and_its_expiry(
    client: Any, app_pool: Any, clock: FixedClock
) -> None:
    await make_user(app_pool, "alice")
    response = await client.post(
        "/api/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    body = await response.json()
    assert response.status == 200, body
    assert len(body["token"]) >= 43
    assert datetime.fromisoformat(body["expires_at"]) == clock.now() + timedelta(days=1)


async def test_usernames_log_in_regardless_of_case(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "Alice")
    assert await log_in(client, "aLICE")


async def test_tokens_are_stored_only_as_their_sha256(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice")
    token = await log_in(client, "alice")
    stored = await app_pool.fetch("SELECT token_hash FROM auth_tokens")
    assert [bytes(r["token_hash"]) for r in stored] == [hashlib.sha256(token.encode()).digest()]
    dump = str([dict(r) for r in await app_pool.fetch("SELECT * FROM auth_tokens")])
    assert token not in dump


async def test_unknown_user_and_wrong_password_get_the_same_401(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice")
    wrong = await client.post("/api/auth/login", json={"username": "alice", "password": "nope"})
    unknown = await client.post("/api/auth/login", json={"username": "bob", "password": "nope"})
    assert wrong.status == unknown.status == 401
    assert await wrong.json() == await unknown.json()
    assert (await wrong.json())["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "x"}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": 7, "password": "x"}, "username"),
        ({"username": "alice", "password": ""}, "password"),
    ],
)
async def test_missing_or_malformed_fields_answer_400_naming_the_field(
    client: Any, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/auth/login", json=body)
    error = (await response.json())["error"]
    assert response.status == 400
    assert error["field"] == field and field in error["message"]


async def test_a_body_that_is_not_json_answers_400(client: Any) -> None:
    for data in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        response = await client.post("/api/auth/login", data=data)
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "bad_request"


async def test_a_token_stops_working_when_it_expires(
    client: Any, app_pool: Any, clock: FixedClock
) -> None:
    # Given a token issued now
    await make_user(app_pool, "alice")
    token = await log_in(client, "alice")
    # When the clock passes its lifetime
    clock.advance(timedelta(seconds=86_400))
    # Then it is refused
    response = await client.post("/api/auth/logout", headers=bearer(token))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_logout_revokes_the_presented_token_only(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice")
    first, second = await log_in(client, "alice"), await log_in(client, "alice")
    assert (await client.post("/api/auth/logout", headers=bearer(first))).status == 204
    assert (await client.post("/api/auth/logout", headers=bearer(first))).status == 401
    assert (await client.post("/api/auth/logout", headers=bearer(second))).status == 204


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic YTpi", "bearer  "])
async def test_logout_without_a_valid_bearer_token_is_401(client: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.post("/api/auth/logout", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["error"]["code"] == "unauthorized"


@pytest.fixture
async def strict_client(aiohttp_client: Any, settings: Settings, clock: FixedClock) -> Any:
    """A client whose app allows 3 failed logins per minute per key."""
    strict = settings.model_copy(update={"login_max_failures": 3, "login_window_s": 60.0})
    return await aiohttp_client(create_app(strict, clock=clock))


async def _login_status(client: Any, name: str, password: str, *, source: str | None = None) -> Any:
    """Log in from 127.0.0.1 (the test client) or another loopback address `source`."""
    body = {"username": name, "password": password}
    if source is None:
        return await client.post("/api/auth/login", json=body)
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(client.make_url("/api/auth/login"), json=body) as response,
    ):
        await response.read()
        return response


async def test_failures_for_one_username_block_it_from_every_address(
    strict_client: Any, clock: FixedClock
) -> None:
    await make_user(strict_client.app[SERVICES].database.pool, "alice")
    # Given three failed logins for alice from 127.0.0.1
    for _ in range(3):
        assert (await _login_status(strict_client, "alice", "wrong")).status == 401
    # When alice tries again from another address, even with the right password
    blocked = await _login_status(strict_client, "alice", PASSWORD, source="127.0.0.2")
    # Then she is told to wait, with Retry-After
    assert blocked.status == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    # And after the window she may log in again
    clock.advance(timedelta(seconds=61))
    assert (await _login_status(strict_client, "alice", PASSWORD, source="127.0.0.2")).status == 200


async def test_failures_from_one_address_block_it_for_every_username(strict_client: Any) -> None:
    await make_user(strict_client.app[SERVICES].database.pool, "alice")
    # Given three failed logins for different names from 127.0.0.2
    for name in ("x", "y", "z"):
        assert (await _login_status(strict_client, name, "p", source="127.0.0.2")).status == 401
    # Then that address is blocked, even for a correct login
    blocked = await _login_status(strict_client, "alice", PASSWORD, source="127.0.0.2")
    assert blocked.status == 429 and "Retry-After" in blocked.headers
    assert (await blocked.json())["error"]["code"] == "too_many_attempts"
    # While alice from another address is not
    assert (await _login_status(strict_client, "alice", PASSWORD)).status == 200


async def test_a_successful_login_resets_the_usernames_failures(strict_client: Any) -> None:
    await make_user(strict_client.app[SERVICES].database.pool, "alice")
    # Given two failures (one short of the limit) from two addresses, then a success
    assert (await _login_status(strict_client, "alice", "no", source="127.0.0.2")).status == 401
    assert (await _login_status(strict_client, "alice", "no", source="127.0.0.3")).status == 401
    assert (await _login_status(strict_client, "alice", PASSWORD, source="127.0.0.4")).status == 200
    # When two more failures follow from fresh addresses, alice is still not blocked
    assert (await _login_status(strict_client, "alice", "no", source="127.0.0.5")).status == 401
    assert (await _login_status(strict_client, "alice", "no", source="127.0.0.6")).status == 401
    assert (await _login_status(strict_client, "alice", PASSWORD, source="127.0.0.7")).status == 200
