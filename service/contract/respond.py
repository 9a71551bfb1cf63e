"""Answer with a declared response model: the JSON the document promises, nothing more."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel


def respond(model: BaseModel, *, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)
