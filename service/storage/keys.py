"""Object keys: the names the log records for uploads and outputs, on every backend.

A key is a relative POSIX path of safe segments (`uploads/<job>/<file-id>.mp4`), the
same text on disk (under the data directory) and in a bucket (under its prefix). Keys
are built only from ids the service chose; user-supplied names never become keys.
"""

from __future__ import annotations

import re
import uuid

from service.errors import InvalidObjectKey

UPLOADS = "uploads"
OUTPUTS = "outputs"
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_KEY_CHARS = 512


def check_key(key: str) -> str:
    """`key` itself, or InvalidObjectKey: no absolute, empty, dot or odd segments."""
    segments = key.split("/")
    if (
        not key
        or len(key) > MAX_KEY_CHARS
        or any(not _SEGMENT.match(s) or s in (".", "..") for s in segments)
    ):
        raise InvalidObjectKey(key)
    return key


def upload_key(job_id: uuid.UUID, file_id: uuid.UUID, extension: str) -> str:
    return check_key(f"{UPLOADS}/{job_id}/{file_id}{extension}")


def output_key(job_id: uuid.UUID, file_id: uuid.UUID, variation: int, attempt: int) -> str:
    """Per attempt, so a stale attempt can never overwrite a newer attempt's object."""
    return check_key(f"{OUTPUTS}/{job_id}/{file_id}/v{variation:02d}-a{attempt}.mp4")


def job_prefix(kind: str, job_id: uuid.UUID) -> str:
    """Every key of one job's uploads (kind `uploads`) or outputs (`outputs`) starts so."""
    return f"{kind}/{job_id}/"
