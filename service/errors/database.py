"""The database's own availability: while PostgreSQL restarts or is unreachable, a request
gets a quick 503 it can retry, not a 500 (`service/db/unavailable.py` tells which driver
errors mean that)."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class DatabaseUnavailable(VideoRefresherError):
    """The database cannot be reached right now; try again shortly."""

    status = 503
    code = "database_unavailable"

    def __init__(self) -> None:
        super().__init__(retry_after_s=1)
