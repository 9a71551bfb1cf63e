"""The root of the hierarchy, and the errors any part may raise: a bad configuration, or
a request that is malformed, unauthenticated or names nothing that exists.

Each class's docstring is its default message, and each declares the HTTP status and
machine-readable code that `service/http/errors.py` turns it into."""

from __future__ import annotations

from typing import Any, ClassVar


class VideoRefresherError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.fields = fields
        super().__init__(self.message)


class ConfigurationError(VideoRefresherError):
    """The configuration is invalid."""

    code = "configuration"


class NotFound(VideoRefresherError):
    """Not found."""

    status = 404
    code = "not_found"


class Unauthorized(VideoRefresherError):
    """A valid bearer token is required."""

    status = 401
    code = "unauthorized"


class BadRequest(VideoRefresherError):
    """The request is malformed."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
