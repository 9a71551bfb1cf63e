"""Typed application state."""

from aiohttp import web

from service.accounts.rate_limit import LoginLimiter
from service.bootstrap import Services

SERVICES = web.AppKey("services", Services)

# The in-process failed-login limiter (service/accounts/rate_limit.py).
LOGIN_LIMITER = web.AppKey("login_limiter", LoginLimiter)
