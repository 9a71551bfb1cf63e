"""`POST /api/auth/login`, `POST /api/auth/logout` and `GET /api/me`; the login limiter and
first admin live in the app's cleanup context.

`{"cookie": true}` at login puts the token in the page's session cookie instead of the
body, so script on the page never holds it (service/http/session_cookie.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.accounts import login, tokens
from service.accounts.first_admin import ensure_first_admin
from service.accounts.rate_limit import LoginLimiter
from service.contract import declare, respond
from service.contract.types import Timestamp
from service.errors import BadRequest
from service.http.auth import bearer_token, request_token, require_user
from service.http.keys import LOGIN_LIMITER, SERVICES
from service.http.session_cookie import (
    check_same_origin,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from service.settings import Role
from service.uploads.intake import DEFAULT_VARIATIONS, MAX_VARIATIONS

routes = web.RouteTableDef()

MAX_PASSWORD_CHARS = 1024  # scrypt reads the whole password: bound the work one request buys


class LoginRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)
    cookie: bool = Field(default=False, description="Set the session cookie; no token in the body.")


class LoginAnswer(BaseModel):
    """A bearer token for `Authorization: Bearer …`, shown only this once (with `cookie`:
    no token here, it is in the HttpOnly session cookie)."""

    token: str | None = Field(default=None, description="Absent when `cookie` was true.")
    expires_at: Timestamp


class Variations(BaseModel):
    min: int
    max: int
    default: int


class Limits(BaseModel):
    max_upload_bytes: int
    max_files_per_job: int
    variations: Variations


class Me(BaseModel):
    """The caller and the limits a new job must keep."""

    username: str
    is_admin: bool
    limits: Limits


async def parse_json(request: web.Request, model: type[BaseModel]) -> Any:
    """The body as `model`, or a 400 naming the first offending field."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or None
        raise BadRequest(f"{field}: {error['msg']}", field=field) from None


@routes.post("/api/auth/login")
@declare(
    summary="Log in: a bearer token (or the session cookie) for a username and password",
    tags=["auth"],
    auth="none",
    body=LoginRequest,
    responses={200: LoginAnswer},
    errors={
        401: "Unknown username or wrong password.",
        403: "`cookie` asked from another site (Origin).",
        429: "Too many failed logins.",
    },
    response_headers={
        200: {"Set-Cookie": "With `cookie`: the HttpOnly session cookie."},
        429: {"Retry-After": "Seconds until a new attempt is counted."},
    },
)
async def log_in(request: web.Request) -> web.Response:
    body: LoginRequest = await parse_json(request, LoginRequest)
    if body.cookie:
        check_same_origin(request)  # no other site's page may sign a browser in
    services = request.app[SERVICES]
    token, expires_at = await login.log_in(
        services.database.pool,
        request.app[LOGIN_LIMITER],
        username=body.username,
        password=body.password,
        address=request.remote or "unknown",
        now=services.clock.now(),
        token_ttl_s=services.settings.token_ttl_s,
    )
    if not body.cookie:
        return respond(LoginAnswer(token=token, expires_at=expires_at))
    response = respond(LoginAnswer(expires_at=expires_at))
    set_session_cookie(request, response, token, services.settings.token_ttl_s)
    return response


@routes.post("/api/auth/logout")
@declare(
    summary="Log out: revoke this token (and clear the session cookie)",
    tags=["auth"],
    responses={204: None},
)
async def log_out(request: web.Request) -> web.Response:
    await require_user(request)
    services = request.app[SERVICES]
    token = request_token(request)
    assert token is not None
    await tokens.revoke(services.database.pool, token, now=services.clock.now())
    response = web.Response(status=204)
    if bearer_token(request) is None and session_token(request) is not None:
        clear_session_cookie(request, response)
    return response


@routes.get("/api/me")
@declare(
    summary="Who is calling, and the limits a new job must keep", tags=["auth"], responses={200: Me}
)
async def who_am_i(request: web.Request) -> web.Response:
    """The caller and the limits a new job must keep, so a page can check files up front."""
    principal = await require_user(request)
    settings = request.app[SERVICES].settings
    limits = Limits(
        max_upload_bytes=settings.max_upload_bytes,
        max_files_per_job=settings.max_files_per_job,
        variations=Variations(min=1, max=MAX_VARIATIONS, default=DEFAULT_VARIATIONS),
    )
    return respond(Me(username=principal.username, is_admin=principal.is_admin, limits=limits))


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after the services start: the limiter, and `admin` on a first API start."""
    services = app[SERVICES]
    settings = services.settings
    app[LOGIN_LIMITER] = LoginLimiter(settings.login_max_failures, settings.login_window_s)
    if settings.role in (Role.ALL, Role.API):
        await ensure_first_admin(services.database.pool, services.clock)
    yield
