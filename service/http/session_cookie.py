"""The page's session: the bearer token carried in an HttpOnly, SameSite=Strict cookie.

Script on the page never sees the token (HttpOnly), other sites' pages never send it
(SameSite=Strict), and a state-changing request that relies on it must also name this
service as its `Origin`: a second, independent guard against cross-site requests, for
browsers or proxies that do not honour SameSite.
"""

from __future__ import annotations

from aiohttp import web

from service.errors import CrossOriginRequest

COOKIE_NAME = "vr_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE_NAME, "").strip()
    return token or None


def own_origin(request: web.Request) -> str:
    """`scheme://host[:port]` as the browser sees this service (the Host header)."""
    return f"{request.scheme}://{request.host}".lower()


def check_same_origin(request: web.Request) -> None:
    """Refuse (403) a state-changing request whose `Origin` is absent or another site's.

    Browsers send `Origin` on every non-GET request, same-origin ones included, so a
    missing header means a client that is not a browser page of ours."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("Origin")
    if origin is None or origin.lower() != own_origin(request):
        raise CrossOriginRequest(
            f"a request authenticated by the session cookie must come from {own_origin(request)}"
            f" (Origin: {origin or 'absent'})"
        )


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, token: str, max_age_s: int
) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="Strict", secure=request.secure
    )
