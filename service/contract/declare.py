"""`@declare(...)`: what one route takes and answers, stated beside its handler.

The declaration is data attached to the handler; `document.py` turns the router's routes
and their declarations into OpenAPI. Request and response shapes are the pydantic models
the handler itself parses with and answers with, so the document describes the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

Auth = Literal["bearer", "bearer_or_link", "metrics", "none"]
F = TypeVar("F", bound=Callable[..., Any])

_ATTRIBUTE = "__vr_operation__"


@dataclass(frozen=True)
class Raw:
    """A body that is not a JSON model: a ZIP, an HTML page, a script, plain text."""

    content_type: str | tuple[str, ...]  # several: the one sent depends on the request
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description
    # A content type whose body has another shape than `schema` (issue 11: POST /api/jobs
    # takes a multipart form or a JSON list of finished uploads).
    schema_by_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


Body = type[BaseModel] | Raw | None  # None: no body (204, 304)


@dataclass(frozen=True)
class Operation:
    """One route's contract. Statuses in `errors` answer the error body with that reason."""

    summary: str
    tags: tuple[str, ...]
    responses: Mapping[int, Body]
    auth: Auth = "bearer"
    description: str | None = None
    path: type[BaseModel] | None = None  # path parameters; unnamed ones are plain strings
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None  # request headers, by alias
    body: type[BaseModel] | Raw | None = None
    body_required: bool = True
    errors: Mapping[int, str] = field(default_factory=dict)
    response_headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


def declare(
    *,
    summary: str,
    tags: list[str] | tuple[str, ...],
    responses: Mapping[int, Body],
    auth: Auth = "bearer",
    description: str | None = None,
    path: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    body: type[BaseModel] | Raw | None = None,
    body_required: bool = True,
    errors: Mapping[int, str] | None = None,
    response_headers: Mapping[int, Mapping[str, str]] | None = None,
) -> Callable[[F], F]:
    """Attach an `Operation` to a handler; put it below the route decorator."""
    operation = Operation(
        summary=summary,
        tags=tuple(tags),
        responses=dict(responses),
        auth=auth,
        description=description,
        path=path,
        query=query,
        headers=headers,
        body=body,
        body_required=body_required,
        errors=dict(errors or {}),
        response_headers=dict(response_headers or {}),
    )

    def attach(handler: F) -> F:
        setattr(handler, _ATTRIBUTE, operation)
        return handler

    return attach


def operation_of(handler: Any) -> Operation | None:
    """The handler's declaration, or None for a route nobody described."""
    return getattr(handler, _ATTRIBUTE, None)
