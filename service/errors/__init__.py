"""One error hierarchy, one module per area of the service (`base` holds the root).

Each class's docstring is its default message, and each declares the HTTP status and
machine-readable code that `service/http/errors.py` turns it into. Import from here:
`from service.errors import X` names every public error whatever module holds it."""

from __future__ import annotations

from service.errors.auth import (
    CrossOriginRequest,
    EmptyPassword,
    InvalidCredentials,
    InvalidUsername,
    MetricsForbidden,
    TooManyLoginAttempts,
    UnknownUser,
    UserExists,
)
from service.errors.base import (
    BadRequest,
    ConfigurationError,
    NotFound,
    Unauthorized,
    VideoRefresherError,
)
from service.errors.database import DatabaseUnavailable
from service.errors.downloads import (
    ArchiveSourceChanged,
    InvalidDownloadLink,
    JobExpired,
    JobNotReady,
    NoOutputs,
    RangeNotSatisfiable,
)
from service.errors.events import (
    DuplicateEventId,
    EventStoreError,
    InvalidEventPayload,
    InvalidStreamName,
    UnknownEventType,
    WrongExpectedVersion,
)
from service.errors.jobs import (
    JobNotCancellable,
    JobStillProcessing,
    ProbeFailed,
    ProcessingError,
    RenderFailed,
)
from service.errors.live import (
    InvalidResumePosition,
    LiveUnavailable,
)
from service.errors.projections import (
    RebuildFailed,
    RebuildInProgress,
    UnknownProjection,
)
from service.errors.storage import (
    InvalidObjectKey,
    ObjectChanged,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from service.errors.tus import (
    ChecksumMismatch,
    TusVersionUnsupported,
    UploadExpired,
    UploadLengthExceeded,
    UploadLocked,
    UploadNotUsable,
    UploadOffsetMismatch,
    WrongContentType,
)
from service.errors.uploads import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InsufficientStorage,
    TooManyFiles,
    UnsupportedMediaType,
    UploadInterrupted,
    UploadTooLarge,
)

__all__ = [
    "ArchiveSourceChanged",
    "BadRequest",
    "ChecksumMismatch",
    "ConfigurationError",
    "CrossOriginRequest",
    "DatabaseUnavailable",
    "DuplicateEventId",
    "EmptyPassword",
    "EventStoreError",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "InsufficientStorage",
    "InvalidCredentials",
    "InvalidDownloadLink",
    "InvalidEventPayload",
    "InvalidObjectKey",
    "InvalidResumePosition",
    "InvalidStreamName",
    "InvalidUsername",
    "JobExpired",
    "JobNotCancellable",
    "JobNotReady",
    "JobStillProcessing",
    "LiveUnavailable",
    "MetricsForbidden",
    "NoOutputs",
    "NotFound",
    "ObjectChanged",
    "ObjectNotFound",
    "ProbeFailed",
    "ProcessingError",
    "RangeNotSatisfiable",
    "RebuildFailed",
    "RebuildInProgress",
    "RenderFailed",
    "StorageError",
    "StorageUnavailable",
    "TooManyFiles",
    "TooManyLoginAttempts",
    "TusVersionUnsupported",
    "Unauthorized",
    "UnknownEventType",
    "UnknownProjection",
    "UnknownUser",
    "UnsupportedMediaType",
    "UploadExpired",
    "UploadInterrupted",
    "UploadLengthExceeded",
    "UploadLocked",
    "UploadNotUsable",
    "UploadOffsetMismatch",
    "UploadTooLarge",
    "UserExists",
    "VideoRefresherError",
    "WrongContentType",
    "WrongExpectedVersion",
]
