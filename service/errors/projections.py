"""Rebuilding read models (`projections rebuild`): which projections exist, one rebuild
at a time, and a failed rebuild that leaves the live view unchanged."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class UnknownProjection(VideoRefresherError):
    """No rebuildable projection has this name."""

    status = 404
    code = "unknown_projection"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"no projection named {name!r} (rebuildable: {', '.join(known)})", name=name
        )


class RebuildInProgress(VideoRefresherError):
    """Another rebuild of this projection is running."""

    status = 409
    code = "rebuild_in_progress"

    def __init__(self, name: str) -> None:
        super().__init__(f"a rebuild of {name} is already running", name=name)


class RebuildFailed(VideoRefresherError):
    """The rebuild stopped; the live projection is unchanged."""

    code = "rebuild_failed"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"rebuild of {name} failed, the live view is unchanged: {reason}")
