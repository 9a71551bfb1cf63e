"""Read a request's query and path with the models its declaration publishes."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from service.errors import BadRequest, NotFound

M = TypeVar("M", bound=BaseModel)


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`, or a 400 naming the first offending parameter."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or None
        raise BadRequest(f"{field}: {error['msg']}", field=field) from None


def parse_path(request: web.Request, model: type[M], not_found: str | None = None) -> M:
    """The path's parameters as `model`; one that does not parse names nothing: 404."""
    try:
        return model.model_validate(dict(request.match_info))
    except ValidationError:
        raise NotFound(not_found) from None
