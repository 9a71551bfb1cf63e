"""Multipart intake (`POST /api/jobs`): what a video must be, how much fits, and the
Idempotency-Key rules. Each names the form field or file at fault."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


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
