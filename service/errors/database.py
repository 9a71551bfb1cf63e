"""The database as a dependency (issue 16): while PostgreSQL is down or restarting, a
request gets a quick 503 to retry (`service/db/unavailable.py` says which driver errors
mean that), not a 500 and a traceback."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class DatabaseUnavailable(VideoRefresherError):
    """The database cannot be reached right now; try again shortly."""

    status = 503
    code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__(retry_after_s=1)
