"""Object storage (issue 15): the disk and S3 backends translate their failures into
these at one seam, so callers tell a store that is down (retry) from an object that is
missing or changed (the log and the store disagree) from a key that is not ours."""

from __future__ import annotations

from service.errors.base import VideoRefresherError


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
