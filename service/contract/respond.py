"""Answer with a declared response model: the JSON the document promises, nothing more."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel


def respond(model: BaseModel, *, status: int = 200) -> web.Response:
    """`model` as JSON. Fields the handler did not set are left out: only fields with a
    default can be unset, and those are optional in the published schema."""
    return web.json_response(
        text=model.model_dump_json(by_alias=True, exclude_unset=True), status=status
    )
