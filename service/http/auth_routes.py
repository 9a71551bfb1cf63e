"""`POST /api/auth/login` and `POST /api/auth/logout`; the login limiter and first admin
live in the app's cleanup context."""

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
from service.http.auth import bearer_token, require_user
from service.http.keys import LOGIN_LIMITER, SERVICES
from service.settings import Role

routes = web.RouteTableDef()

MAX_PASSWORD_CHARS = 1024  # scrypt reads the whole password: bound the work one request buys


class LoginRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_CHARS)


class LoginAnswer(BaseModel):
    """A bearer token for `Authorization: Bearer …`, shown only this once."""

    token: str
    expires_at: Timestamp


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
    summary="Log in: a bearer token for a username and password",
    tags=["auth"],
    auth="none",
    body=LoginRequest,
    responses={200: LoginAnswer},
    errors={401: "Unknown username or wrong password.", 429: "Too many failed logins."},
    response_headers={429: {"Retry-After": "Seconds until a new attempt is counted."}},
)
async def log_in(request: web.Request) -> web.Response:
    body: LoginRequest = await parse_json(request, LoginRequest)
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
    return respond(LoginAnswer(token=token, expires_at=expires_at))


@routes.post("/api/auth/logout")
@declare(summary="Log out: revoke this bearer token", tags=["auth"], responses={204: None})
async def log_out(request: web.Request) -> web.Response:
    await require_user(request)
    services = request.app[SERVICES]
    token = bearer_token(request)
    assert token is not None
    await tokens.revoke(services.database.pool, token, now=services.clock.now())
    return web.Response(status=204)


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs after the services start: the limiter, and `admin` on a first API start."""
    services = app[SERVICES]
    settings = services.settings
    app[LOGIN_LIMITER] = LoginLimiter(settings.login_max_failures, settings.login_window_s)
    if settings.role in (Role.ALL, Role.API):
        await ensure_first_admin(services.database.pool, services.clock)
    yield
