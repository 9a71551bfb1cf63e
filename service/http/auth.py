"""The authentication seam: who is calling (`require_user`) and what they may see (`can_see`)."""

from __future__ import annotations

from aiohttp import web

from service.accounts import tokens
from service.accounts.principal import Principal
from service.errors import Unauthorized
from service.http.keys import SERVICES
from service.projections.job_state import JobState


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def require_user(request: web.Request) -> Principal:
    """The caller behind `Authorization: Bearer …`; Unauthorized (401) if none is valid."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    services = request.app[SERVICES]
    principal = await tokens.principal_for(services.database.pool, token, now=services.clock.now())
    if principal is None:
        raise Unauthorized("the bearer token is unknown, expired or revoked")
    return principal


def can_see(principal: Principal, job: JobState) -> bool:
    """Owners see their jobs; admins see every job."""
    return principal.is_admin or job.owner_id == principal.user_id
