"""The JSON body that makes a job of finished uploads: `{"uploads": [ids], "variations": N}`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from service.errors import BadRequest, TooManyFiles, UploadNotUsable
from service.uploads.intake import DEFAULT_VARIATIONS, MAX_VARIATIONS

MAX_BODY_BYTES = 64 * 2**10
# What the OpenAPI document publishes for this body (the parser below is the authority).
JOB_FROM_UPLOADS_SCHEMA = {
    "type": "object",
    "properties": {
        "uploads": {
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Ids of your finished tus uploads, each in no other job.",
        },
        "variations": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_VARIATIONS,
            "default": DEFAULT_VARIATIONS,
        },
    },
    "required": ["uploads"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class JobFromUploads:
    uploads: list[uuid.UUID]
    variations: int

    @property
    def fingerprint(self) -> str:
        """For Idempotency-Key: the operation and what it names (cheap to compare, unlike
        a multipart body), so a key reused for other uploads is refused."""
        ids = ",".join(str(u) for u in self.uploads)
        return f"POST /api/jobs uploads={ids} variations={self.variations}"


def parse_job_from_uploads(raw: bytes, max_files: int) -> JobFromUploads:
    """400 naming the field (or the upload) for anything but the documented shape."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("the JSON body is too large")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    unknown = sorted(set(body) - {"uploads", "variations"})
    if unknown:
        raise BadRequest(f"unexpected field {unknown[0]!r}", field=unknown[0])
    variations = body.get("variations", DEFAULT_VARIATIONS)
    if type(variations) is not int or not 1 <= variations <= MAX_VARIATIONS:
        raise BadRequest(
            f"variations must be an integer from 1 to {MAX_VARIATIONS}", field="variations"
        )
    ids = body.get("uploads")
    if not isinstance(ids, list) or not ids:
        raise BadRequest("uploads must be a non-empty list of upload ids", field="uploads")
    if len(ids) > max_files:
        raise TooManyFiles(max_files)
    parsed: list[uuid.UUID] = []
    for raw_id in ids:
        try:
            upload_id = uuid.UUID(raw_id) if isinstance(raw_id, str) else None
        except ValueError:
            upload_id = None
        if upload_id is None:
            raise UploadNotUsable(raw_id, "not an upload id", code="unknown_upload", status=400)
        if upload_id in parsed:
            raise UploadNotUsable(upload_id, "named twice", code="duplicate_upload", status=400)
        parsed.append(upload_id)
    return JobFromUploads(parsed, variations)
