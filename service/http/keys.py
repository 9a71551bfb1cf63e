"""Typed application state."""

from aiohttp import web

from service.bootstrap import Services

SERVICES = web.AppKey("services", Services)
