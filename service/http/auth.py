"""The authentication seam: who is calling (`require_user`) and what they may see (`can_see`).

A caller proves who they are with `Authorization: Bearer …` (API clients) or with the
page's session cookie, which carries the same kind of token (service/http/session_cookie.py).
"""

from __future__ import annotations

from aiohttp import web

from service.accounts import tokens
from service.accounts.principal import Principal
from service.errors import Unauthorized
from service.http.keys import SERVICES
from service.http.session_cookie import check_same_origin, session_token
from service.projections.job_state import JobState


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def require_user(request: web.Request) -> Principal:
    """The caller behind `Authorization: Bearer …` or else the session cookie; Unauthorized
    (401) if neither is valid. A state-changing request that only the cookie authenticates
    must come from this service's own origin (403 otherwise)."""
    token = bearer_token(request)
    if token is None:
        token = session_token(request)
        if token is None:
            raise Unauthorized()
        check_same_origin(request)
    services = request.app[SERVICES]
    principal = await tokens.principal_for(services.database.pool, token, now=services.clock.now())
    if principal is None:
        raise Unauthorized("the bearer token or session is unknown, expired or revoked")
    return principal


def request_token(request: web.Request) -> str | None:
    """The token `require_user` authenticated: the bearer one first, else the cookie's."""
    return bearer_token(request) or session_token(request)


def can_see(principal: Principal, job: JobState) -> bool:
    """Owners see their jobs; admins see every job."""
    return principal.is_admin or job.owner_id == principal.user_id
