"""What may be downloaded and how: a job's results exist only between its finish and its
expiry, links expire, ranges must fall inside the archive, and an output must still be
what the log recorded when the archive was planned."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


class JobNotReady(VideoRefresherError):
    """The job has no results yet."""

    status = 404
    code = "not_ready"


class NoOutputs(VideoRefresherError):
    """The job finished without rendering any output."""

    status = 404
    code = "no_outputs"


class JobExpired(VideoRefresherError):
    """The job's results have expired."""

    status = 410
    code = "expired"


class InvalidDownloadLink(VideoRefresherError):
    """The download link is invalid or has expired."""

    status = 401
    code = "invalid_link"


class ArchiveSourceChanged(VideoRefresherError):
    """An output file is missing or changed since the archive was planned."""

    code = "output_missing"

    def __init__(self, path: str, expected_size: int, actual_size: int | None) -> None:
        # The message stays generic: it may reach a client, and disk paths must not.
        self.path, self.expected_size, self.actual_size = path, expected_size, actual_size
        super().__init__(path=path, expected_size=expected_size, actual_size=actual_size)


class RangeNotSatisfiable(VideoRefresherError):
    """The requested byte range lies outside the archive."""

    status = 416
    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        # The size goes into the 416 reply's `Content-Range: bytes */<size>`.
        self.size = size
        super().__init__(f"no requested byte lies within the {size}-byte archive", size=size)
