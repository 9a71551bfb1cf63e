"""Live streams (SSE): a resume point must be a log position this service sent, and a
process whose shared log reader has not started yet asks the client to retry."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class InvalidResumePosition(VideoRefresherError):
    """Last-Event-ID / after must be a log position this service sent."""

    status = 400
    code = "invalid_position"

    def __init__(self, raw: str, field: str) -> None:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        super().__init__(f"{field} {shown!r} is not a log position this service sent", field=field)


class LiveUnavailable(VideoRefresherError):
    """Live streams are not available yet; retry shortly."""

    status = 503
    code = "live_unavailable"
