"""One error hierarchy: each class's docstring is its default message, and each declares
the HTTP status and machine-readable code that `service/http/errors.py` turns it into."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar


class VideoRefresherError(Exception):
    """Something went wrong."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.fields = fields
        super().__init__(self.message)


# --- configuration ---------------------------------------------------------------------


class ConfigurationError(VideoRefresherError):
    """The configuration is invalid."""

    code = "configuration"


# --- the event log ---------------------------------------------------------------------


class EventStoreError(VideoRefresherError):
    """The event store refused the operation."""

    code = "event_store"


class UnknownEventType(EventStoreError):
    """No event class is registered under this type name."""

    status = 400
    code = "unknown_event_type"

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}", event_type=event_type)


class InvalidEventPayload(EventStoreError):
    """The event's payload does not match its schema."""

    status = 400
    code = "invalid_event"

    def __init__(self, event_type: str, problems: str) -> None:
        super().__init__(f"invalid {event_type} payload: {problems}", event_type=event_type)


class WrongExpectedVersion(EventStoreError):
    """The stream is not at the version the writer expected."""

    status = 409
    code = "version_conflict"

    def __init__(self, stream: str, expected: object, actual: int) -> None:
        self.stream, self.expected, self.actual = stream, expected, actual
        super().__init__(
            f"stream {stream!r}: expected version {expected}, actual version {actual}",
            stream=stream,
            expected=expected,
            actual=actual,
        )


class DuplicateEventId(EventStoreError):
    """An event with this id is already stored with different content."""

    status = 409
    code = "duplicate_event_id"

    def __init__(self, stream: str, event_ids: list[str]) -> None:
        super().__init__(
            f"stream {stream!r}: event id(s) {', '.join(event_ids)} already stored "
            "with different content",
            stream=stream,
            event_ids=event_ids,
        )


class InvalidStreamName(EventStoreError):
    """Stream names are non-empty printable text without newlines."""

    status = 400
    code = "invalid_stream"


class SubscriptionNotFound(VideoRefresherError):
    """No subscription with this name exists."""

    status = 404
    code = "not_found"


# --- HTTP-facing errors ----------------------------------------------------------------


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


# --- the download ----------------------------------------------------------------------


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


# --- processing (ffmpeg) ---------------------------------------------------------------


class ProcessingError(VideoRefresherError):
    """ffmpeg could not process the video."""

    code = "processing"

    def __init__(self, file: Path | str, detail: str, message: str | None = None) -> None:
        self.file, self.detail = Path(file), detail
        summary = message or (type(self).__doc__ or "").strip()
        # The disk name is a file id, never the uploader's name, so it is safe to show.
        super().__init__(
            f"{self.file.name}: {summary}" + (f"\n{detail}" if detail else ""),
            disk_file=str(self.file),
            detail=detail,
        )


class ProbeFailed(ProcessingError):
    """The file is not a readable video (no video stream or no duration)."""

    status = 422
    code = "unreadable_video"


class RenderFailed(ProcessingError):
    """ffmpeg failed to render the variation."""

    code = "render_failed"


# --- reactors (purge, expiry, reaping) -------------------------------------------------


class JobStillProcessing(VideoRefresherError):
    """The job is being processed; it can be expired once processing has finished."""

    status = 409
    code = "job_processing"

    def __init__(self, job_id: object) -> None:
        super().__init__(
            f"job {job_id} is being processed; expire it once processing has finished",
            job_id=str(job_id),
        )
