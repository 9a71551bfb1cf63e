"""Who may ask: accounts, logins and the session cookie's origin check, and who may
scrape the metrics. Kept apart so every refusal of a caller is found in one place."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class InvalidCredentials(VideoRefresherError):
    """Unknown username or wrong password."""

    status = 401
    code = "invalid_credentials"


class TooManyLoginAttempts(VideoRefresherError):
    """Too many failed logins; try again later."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(retry_after_s=retry_after_s)


class InvalidUsername(VideoRefresherError):
    """Usernames are 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'."""

    status = 400
    code = "invalid_username"

    def __init__(self, username: str) -> None:
        super().__init__(f"invalid username {username!r}: {self.__doc__}", field="username")


class UserExists(VideoRefresherError):
    """A user with this name already exists."""

    status = 409
    code = "user_exists"

    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists", field="username")


class UnknownUser(VideoRefresherError):
    """No user has this name."""

    status = 404
    code = "unknown_user"

    def __init__(self, username: str) -> None:
        super().__init__(f"no user named {username!r}", field="username")


class EmptyPassword(VideoRefresherError):
    """The password must not be empty."""

    status = 400
    code = "empty_password"


class CrossOriginRequest(VideoRefresherError):
    """A request authenticated by the session cookie must come from this service's own page."""

    status = 403
    code = "cross_origin"


class MetricsForbidden(VideoRefresherError):
    """Metrics are served to loopback clients only, unless VR_METRICS_TOKEN is set."""

    status = 403
    code = "forbidden"
