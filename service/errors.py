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
        self.summary = summary = message or (type(self).__doc__ or "").strip()
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


# --- what may be downloaded ------------------------------------------------------------


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


# --- accounts and auth -----------------------------------------------------------------


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


# --- the web page's session (issue 12) ------------------------------------------------


class CrossOriginRequest(VideoRefresherError):
    """A request authenticated by the session cookie must come from this service's own page."""

    status = 403
    code = "cross_origin"


# --- upload intake ---------------------------------------------------------------------


class UploadTooLarge(VideoRefresherError):
    """The file is larger than the upload limit."""

    status = 413
    code = "file_too_large"

    def __init__(self, file: str, limit_bytes: int) -> None:
        super().__init__(
            f"{file!r} is larger than the {limit_bytes}-byte limit per file",
            field="videos",
            file=file,
        )


class TooManyFiles(VideoRefresherError):
    """Too many files in one upload."""

    status = 413
    code = "too_many_files"

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} videos per upload", field="videos")


class UnsupportedMediaType(VideoRefresherError):
    """Only MP4 and MOV videos are accepted."""

    status = 415
    code = "unsupported_media_type"

    def __init__(self, file: str) -> None:
        super().__init__(
            f"{file!r} is not an MP4 or MOV video (no ISO-BMFF 'ftyp' box at its start)",
            field="videos",
            file=file,
        )


class InsufficientStorage(VideoRefresherError):
    """The server has no room for this upload."""

    status = 507
    code = "insufficient_storage"

    def __init__(self, message: str | None = None, *, file: str | None = None) -> None:
        super().__init__(message, field="videos", file=file)


class UploadInterrupted(VideoRefresherError):
    """The upload ended before its body was complete."""

    status = 400
    code = "upload_interrupted"


class IdempotencyInProgress(VideoRefresherError):
    """A request with this Idempotency-Key is still being processed."""

    status = 409
    code = "idempotency_in_progress"


class IdempotencyKeyReused(VideoRefresherError):
    """This Idempotency-Key was already used for a different request."""

    status = 422
    code = "idempotency_key_reused"


# --- resumable uploads (tus 1.0, issue 11) ---------------------------------------------


class TusVersionUnsupported(VideoRefresherError):
    """This server speaks tus 1.0.0: send `Tus-Resumable: 1.0.0`."""

    status = 412
    code = "tus_version_unsupported"

    def __init__(self, sent: str | None) -> None:
        what = "no Tus-Resumable header" if sent is None else f"Tus-Resumable {sent!r}"
        super().__init__(f"{what}; this server speaks tus 1.0.0", field="Tus-Resumable")


class UploadOffsetMismatch(VideoRefresherError):
    """Upload-Offset does not match the upload's current offset."""

    status = 409
    code = "offset_mismatch"

    def __init__(self, sent: int, actual: int) -> None:
        super().__init__(
            f"Upload-Offset {sent} does not match the upload's offset {actual}",
            field="Upload-Offset",
        )


class UploadLengthExceeded(VideoRefresherError):
    """The upload is longer than allowed."""

    status = 413
    code = "upload_too_large"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)


class WrongContentType(VideoRefresherError):
    """PATCH bodies must be `Content-Type: application/offset+octet-stream`."""

    status = 415
    code = "wrong_content_type"

    def __init__(self) -> None:
        super().__init__(field="Content-Type")


class ChecksumMismatch(VideoRefresherError):
    """The chunk does not match its Upload-Checksum; it was discarded."""

    status = 460
    code = "checksum_mismatch"

    def __init__(self, algorithm: str) -> None:
        super().__init__(
            f"the chunk does not match its {algorithm} Upload-Checksum; it was discarded "
            "and the offset is unchanged",
            field="Upload-Checksum",
        )


class UploadLocked(VideoRefresherError):
    """Another request is writing to this upload; retry once it has finished."""

    status = 423
    code = "upload_locked"


class UploadExpired(VideoRefresherError):
    """The upload has expired; its bytes are deleted or about to be."""

    status = 410
    code = "upload_expired"


class UploadNotUsable(VideoRefresherError):
    """An upload named for the job cannot be used."""

    status = 409
    code = "upload_not_usable"

    def __init__(self, upload_id: object, reason: str, *, code: str, status: int = 409) -> None:
        super().__init__(f"upload {upload_id}: {reason}", field="uploads", upload=str(upload_id))
        self.code, self.status = code, status  # type: ignore[misc]


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


# --- cancellation (issue 10) -----------------------------------------------------------


class JobNotCancellable(VideoRefresherError):
    """The job has already ended; only a received or processing job can be cancelled."""

    status = 409
    code = "not_cancellable"

    def __init__(self, job_id: object, status: str) -> None:
        super().__init__(
            f"job {job_id} is {status}; only a received or processing job can be cancelled",
            job_id=str(job_id),
            job_status=status,
        )


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


# --- audit and rebuild -----------------------------------------------------------------


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


# --- object storage (issue 15) ---------------------------------------------------------


class StorageError(VideoRefresherError):
    """The object store refused the operation."""

    code = "storage"


class StorageUnavailable(StorageError):
    """The object store cannot be reached; try again later."""

    status = 503
    code = "storage_unavailable"

    def __init__(self, detail: str | None = None) -> None:
        # The detail (endpoint, bucket, driver message) is for the log, not the client.
        self.detail = detail
        super().__init__(None, detail=detail)


class ObjectNotFound(StorageError):
    """A stored object the log names is missing."""

    code = "object_missing"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(None, key=key)


class ObjectChanged(StorageError):
    """A stored object changed since the log recorded it."""

    code = "object_changed"

    def __init__(self, key: str, expected_etag: str | None = None) -> None:
        self.key, self.expected_etag = key, expected_etag
        super().__init__(None, key=key, expected_etag=expected_etag)


class InvalidObjectKey(StorageError):
    """Object keys are relative paths of plain segments (no '..', no absolute paths)."""

    code = "invalid_object_key"

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"invalid object key {key[:200]!r}", key=key[:200])


# --- metrics (issue 14) ------------------------------------------------------------------


class MetricsForbidden(VideoRefresherError):
    """Metrics are served to loopback clients only, unless VR_METRICS_TOKEN is set."""

    status = 403
    code = "forbidden"
