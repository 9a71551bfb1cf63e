"""The tus 1.0 headers: what the server announces and how each request header is read.

Every parser raises a typed error naming the header, so a bad request is a JSON 400
(or the status tus gives it) that says which header was wrong.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.errors import BadRequest, TusVersionUnsupported

VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
MAX_METADATA_CHARS = 4096  # filename and filetype; tus clients send a few hundred at most
MAX_FILETYPE_CHARS = 255
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_KEY = re.compile(r"^[!#-+\--~]+$")  # printable ASCII without space or comma


@dataclass(frozen=True)
class Metadata:
    filename: str
    filetype: str | None


@dataclass(frozen=True)
class Checksum:
    """`Upload-Checksum: <algorithm> <base64 digest>` of one PATCH body."""

    algorithm: str
    digest: bytes

    def hasher(self) -> hashlib._Hash:
        return CHECKSUM_ALGORITHMS[self.algorithm]()


def check_resumable(headers: Mapping[str, str]) -> None:
    """412 unless the client speaks the version we do."""
    if headers.get("Tus-Resumable") != VERSION:
        raise TusVersionUnsupported(headers.get("Tus-Resumable"))


def _non_negative(headers: Mapping[str, str], name: str) -> int:
    raw = headers.get(name)
    if raw is None:
        raise BadRequest(f"the {name} header is required", field=name)
    if not _DIGITS.match(raw.strip()):
        raise BadRequest(f"{name} must be a non-negative integer", field=name)
    return int(raw)


def upload_length(headers: Mapping[str, str]) -> int:
    return _non_negative(headers, "Upload-Length")


def upload_offset(headers: Mapping[str, str]) -> int:
    return _non_negative(headers, "Upload-Offset")


def metadata(raw: str | None) -> Metadata:
    """`Upload-Metadata`: comma-separated `key base64(value)` pairs; `filename` required."""
    field = "Upload-Metadata"
    if raw is None or not raw.strip():
        raise BadRequest("Upload-Metadata with a filename is required", field=field)
    if len(raw) > MAX_METADATA_CHARS:
        raise BadRequest(f"Upload-Metadata is longer than {MAX_METADATA_CHARS}", field=field)
    pairs: dict[str, str] = {}
    for item in raw.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not _KEY.match(key) or key in pairs or " " in encoded.strip():
            raise BadRequest(f"malformed Upload-Metadata pair {item.strip()!r}", field=field)
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                f"Upload-Metadata {key!r} is not base64 of UTF-8 text", field=field
            ) from None
    filename = pairs.get("filename", "")
    if not filename.strip():
        raise BadRequest("Upload-Metadata must carry a non-empty filename", field=field)
    filetype = pairs.get("filetype") or None
    if filetype is not None and len(filetype) > MAX_FILETYPE_CHARS:
        raise BadRequest("the filetype in Upload-Metadata is too long", field=field)
    return Metadata(filename, filetype)


def encode_metadata(meta: Metadata) -> str:
    """The `Upload-Metadata` a HEAD echoes back."""
    pairs = {"filename": meta.filename, "filetype": meta.filetype}
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items() if v is not None
    )


def checksum(raw: str | None) -> Checksum | None:
    """`Upload-Checksum`, None when absent; 400 for an unknown algorithm or bad base64."""
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(
            f"Upload-Checksum algorithm must be one of {', '.join(CHECKSUM_ALGORITHMS)}",
            field="Upload-Checksum",
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise BadRequest(f"Upload-Checksum is not a base64 {algorithm} digest",
                         field="Upload-Checksum")  # fmt: skip
    return Checksum(algorithm, digest)


def http_date(moment: datetime) -> str:
    """RFC 9110 IMF-fixdate, as `Upload-Expires` wants it."""
    return email.utils.format_datetime(moment, usegmt=True)
