"""The page's session cookie: HttpOnly, SameSite=Strict, Secure over TLS, accepted beside
the bearer token; a state-changing request it authenticates needs this service's Origin."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from service.http.session_cookie import COOKIE_NAME, set_session_cookie
from tests.accounts.support import PASSWORD, bearer, log_in, make_user
from tests.http.download_support import finished_job, services_of


def own_origin(client: Any) -> str:
    return str(client.make_url("")).rstrip("/")


async def cookie_log_in(client: Any, name: str = "alice") -> Any:
    response = await client.post(
        "/api/auth/login",
        json={"username": name, "password": PASSWORD, "cookie": True},
        headers={"Origin": own_origin(client)},
    )
    assert response.status == 200, await response.text()
    return response


def session_cookie(response: Any) -> Any:
    cookies = SimpleCookie()
    for header in response.headers.getall("Set-Cookie"):
        cookies.load(header)
    return cookies[COOKIE_NAME]


async def test_a_cookie_login_sets_an_httponly_strict_cookie_and_hides_the_token(
    client: Any, app_pool: Any
) -> None:
    await make_user(app_pool, "alice")
    # When alice signs in asking for the cookie
    response = await cookie_log_in(client)
    # Then the token travels only in an HttpOnly, SameSite=Strict cookie (not Secure over http)
    body = await response.json()
    assert "token" not in body and "expires_at" in body
    cookie = session_cookie(response)
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]
    assert cookie["path"] == "/" and int(cookie["max-age"]) == 86_400
    # And the API accepts the cookie alone
    me = await client.get("/api/me")
    assert me.status == 200
    assert (await me.json())["username"] == "alice"


def test_the_session_cookie_is_secure_when_served_over_tls() -> None:
    request = make_mocked_request("POST", "/api/auth/login").clone(scheme="https")
    response = web.Response()
    set_session_cookie(request, response, "t", 60)
    assert response.cookies[COOKIE_NAME]["secure"] is True


async def test_me_reports_the_caller_and_the_job_limits(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice", admin=True)
    me = await (await client.get("/api/me", headers=bearer(await log_in(client, "alice")))).json()
    assert me == {
        "username": "alice",
        "is_admin": True,
        "limits": {
            "max_upload_bytes": 500 * 2**20,
            "max_files_per_job": 10,
            "variations": {"min": 1, "max": 20, "default": 5},
        },
    }


@pytest.mark.parametrize("origin", [None, "http://evil.example", "null"])
async def test_a_cookie_authenticated_write_from_another_origin_is_403(
    client: Any, app_pool: Any, origin: str | None
) -> None:
    alice = await make_user(app_pool, "alice")
    job_id, _ = await finished_job(services_of(client), alice.id, {"ad.mp4": 1})
    await cookie_log_in(client)
    headers = {"Origin": origin} if origin else {}
    # When a state-changing request carries the cookie but not this service's Origin
    response = await client.post(f"/api/jobs/{job_id}/download-link", headers=headers)
    # Then it is refused with a JSON 403
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "cross_origin"
    # While the same request from the page's own origin goes through
    same = await client.post(
        f"/api/jobs/{job_id}/download-link", headers={"Origin": own_origin(client)}
    )
    assert same.status == 200
    # And reads need no Origin
    assert (await client.get(f"/api/jobs/{job_id}")).status == 200


async def test_a_bearer_token_needs_no_origin(client: Any, app_pool: Any) -> None:
    alice = await make_user(app_pool, "alice")
    job_id, _ = await finished_job(services_of(client), alice.id, {"ad.mp4": 1})
    headers = {**bearer(await log_in(client, "alice")), "Origin": "http://evil.example"}
    response = await client.post(f"/api/jobs/{job_id}/download-link", headers=headers)
    assert response.status == 200


async def test_another_sites_page_cannot_sign_a_browser_in(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice")
    response = await client.post(
        "/api/auth/login",
        json={"username": "alice", "password": PASSWORD, "cookie": True},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status == 403
    assert "Set-Cookie" not in response.headers


async def test_signing_out_revokes_the_session_and_clears_the_cookie(
    client: Any, app_pool: Any
) -> None:
    await make_user(app_pool, "alice")
    await cookie_log_in(client)
    # When the page signs out
    response = await client.post("/api/auth/logout", headers={"Origin": own_origin(client)})
    # Then the token is revoked and the cookie is cleared
    assert response.status == 204
    assert session_cookie(response)["max-age"] == "0"
    assert await app_pool.fetchval("SELECT count(*) FROM auth_tokens WHERE revoked_at IS NULL") == 0
    assert (await client.get("/api/me")).status == 401


async def test_a_revoked_sessions_cookie_is_refused(client: Any, app_pool: Any) -> None:
    await make_user(app_pool, "alice")
    login = await cookie_log_in(client)
    value = session_cookie(login).value
    await client.post("/api/auth/logout", headers={"Origin": own_origin(client)})
    # Replaying the old cookie value after sign-out gets 401
    client.session.cookie_jar.update_cookies({COOKIE_NAME: value})
    assert (await client.get("/api/me")).status == 401
