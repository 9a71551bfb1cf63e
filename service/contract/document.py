"""Build the OpenAPI 3.1 document from the app's router and each route's `@declare`.

Routes are read from the running app, not from a list kept by hand: a route without a
declaration is reported by `undescribed_routes` (the drift test fails on it) and left
out of the document. HEAD routes that aiohttp adds beside each GET are implied by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from service.contract.declare import Body, Operation, Raw, operation_of
from service.contract.errors import ErrorBody

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": REF.format(model="ErrorBody")}
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `POST /api/auth/login`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "vr_session",
        "description": "The page's HttpOnly session cookie (`POST /api/auth/login` with "
        "`cookie: true`); a write that relies on it must send this service's `Origin`.",
    },
    "metrics": {
        "type": "http",
        "scheme": "bearer",
        "description": "`VR_METRICS_TOKEN`; without it set, loopback clients need none.",
    },
    "link": {
        "type": "apiKey",
        "in": "query",
        "name": "link",
        "description": "A signed link from `POST /api/jobs/{job_id}/download-link`.",
    },
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "bearer": [{"bearer": []}, {"session": []}],
    "bearer_or_link": [{"bearer": []}, {"session": []}, {"link": []}],
    "metrics": [{"metrics": []}, {}],
    "none": [],
}
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def described_routes(app: web.Application) -> Iterator[tuple[str, str, Any, Operation | None]]:
    """Every (method, OpenAPI path, handler, declaration) the router serves; static file
    folders and the HEAD twins that aiohttp adds beside GET routes are not operations."""
    routes = [r for r in app.router.routes() if r.resource is not None]
    with_get = {id(r.resource) for r in routes if r.method == "GET"}
    for route in routes:
        resource = route.resource
        assert resource is not None
        if isinstance(resource, web.StaticResource):
            continue
        if route.method == "HEAD" and id(resource) in with_get:
            continue
        path = _PARAM.sub(r"{\1}", resource.canonical)
        yield route.method, path, route.handler, operation_of(route.handler)


def undescribed_routes(app: web.Application) -> list[str]:
    """Routes the document cannot describe: no `@declare`, or a method OpenAPI lacks."""
    return [
        f"{method} {path}"
        for method, path, _, operation in described_routes(app)
        if operation is None or method.lower() not in _METHODS
    ]


def build_document(app: web.Application) -> dict[str, Any]:
    schemas = _Schemas()
    schemas.ref(ErrorBody, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler, operation in described_routes(app):
        if operation is None or method.lower() not in _METHODS:
            continue
        paths.setdefault(path, {})[method.lower()] = _operation(
            schemas, path, handler.__name__, operation
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Video Refresher API",
            "version": _version(),
            "description": (
                "Upload MP4/MOV videos, get back N subtly refreshed variations of each as "
                'one STORE ZIP. Every error answers `{"error": {"code", "message", …}}`.'
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas.components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(schemas: _Schemas, path: str, name: str, op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": name, "summary": op.summary, "tags": list(op.tags)}
    if op.description:
        out["description"] = op.description
    out["security"] = SECURITY[op.auth]
    parameters = [
        *_parameters(op.path, "path", path),
        *_parameters(op.query, "query", path),
        *_parameters(op.headers, "header", path),
    ]
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": _content(schemas, op.body, "validation"),
        }
    responses: dict[str, Any] = {}
    for status, body in sorted(op.responses.items()):
        responses[str(status)] = _response(schemas, body, op.response_headers.get(status, {}))
    for status, reason in _errors(op, parameters).items():
        responses[str(status)] = {
            "description": reason,
            "content": {"application/json": {"schema": ERROR_REF}},
        }
    responses["default"] = {
        "description": "Any other error (a malformed request, 413, 431, 500 …): the same body.",
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    out["responses"] = responses
    return out


def _errors(op: Operation, parameters: list[dict[str, Any]]) -> dict[int, str]:
    errors: dict[int, str] = {}
    if op.query or op.body is not None or op.headers:
        errors[400] = "The request is malformed; `error.field` names the culprit."
    if op.auth != "none":
        errors[401] = "No valid credentials."
    if any(p["in"] == "path" for p in parameters):
        errors[404] = "No such thing, or not yours (the same answer)."
    errors.update(op.errors)
    return dict(sorted(errors.items()))


def _parameters(model: type[BaseModel] | None, where: str, path: str) -> list[dict[str, Any]]:
    if where == "path" and model is None:
        return [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in _PARAM.findall(path)
        ]
    if model is None:
        return []
    schema = model.model_json_schema(mode="validation")
    out = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        param: dict[str, Any] = {
            "name": key,
            "in": where,
            "required": where == "path" or info.is_required(),
            "schema": _not_null(schema["properties"][key]),
        }
        if info.description:
            param["description"] = info.description
        out.append(param)
    return out


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without pydantic's `null` branch: an absent parameter is None,
    and no header or query value is JSON `null`."""
    out = {k: v for k, v in schema.items() if k != "title"}
    branches = [b for b in out.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        out.update(branches[0])
    elif branches:
        out["anyOf"] = branches
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def _response(schemas: _Schemas, body: Body, headers: Mapping[str, str]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": _describe(body)}
    if body is not None:
        response["content"] = _content(schemas, body, "serialization")
    all_headers = {**(body.headers if isinstance(body, Raw) else {}), **headers}
    if all_headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in all_headers.items()
        }
    return response


def _describe(body: Body) -> str:
    if body is None:
        return "No body."
    if isinstance(body, Raw):
        return body.description
    return (body.__doc__ or body.__name__).strip().splitlines()[0]


def _content(schemas: _Schemas, body: type[BaseModel] | Raw, mode: str) -> dict[str, Any]:
    if isinstance(body, Raw):
        types = (body.content_type,) if isinstance(body.content_type, str) else body.content_type
        return {t: {"schema": dict(body.schema_by_type.get(t, body.schema))} for t in types}
    return {"application/json": {"schema": schemas.ref(body, mode)}}


class _Schemas:
    """components/schemas, filled as operations refer to models."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: Any) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        self.components.update(schema.pop("$defs", {}))
        self.components[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}


def _version() -> str:
    try:
        return version("video-refresher")
    except PackageNotFoundError:
        return "0.0.0"
