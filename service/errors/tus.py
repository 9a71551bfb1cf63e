"""Resumable uploads (tus 1.0, issue 11): the protocol's own refusals, each with the
status the tus specification gives it (412, 409, 460, 423, 410...) and the header at
fault, so tus clients react as the protocol says."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


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
