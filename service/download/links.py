"""Short-lived signed download links: a browser or plain curl fetches without a header.

A link token is `<payload>.<signature>`: the payload names the job, the user and the
expiry; the signature is an HMAC with a key kept in the database, so every instance can
verify a link any instance issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from service.errors import InvalidDownloadLink

_KEY_NAME = "download_links"
_ENSURE_KEY = """
INSERT INTO signing_keys (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING
"""
_LOAD_KEY = "SELECT secret FROM signing_keys WHERE name = $1"


@dataclass(frozen=True)
class LinkGrant:
    job_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


async def signing_key(conn: asyncpg.Pool | asyncpg.Connection) -> bytes:
    """The shared HMAC key, created by whichever instance needs it first."""
    await conn.execute(_ENSURE_KEY, _KEY_NAME, secrets.token_bytes(32))
    return bytes(await conn.fetchval(_LOAD_KEY, _KEY_NAME))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, grant: LinkGrant) -> str:
    payload = json.dumps(
        {"j": str(grant.job_id), "u": str(grant.user_id), "e": int(grant.expires_at.timestamp())},
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify(key: bytes, token: str, job_id: uuid.UUID, now: datetime) -> LinkGrant:
    """The grant a token carries, if it is authentic, unexpired and for this job."""
    try:
        payload_text, signature_text = token.split(".")
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except ValueError:
        raise InvalidDownloadLink() from None
    expected = hmac.new(key, payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidDownloadLink()
    try:
        fields = json.loads(payload)
        grant = LinkGrant(
            job_id=uuid.UUID(fields["j"]),
            user_id=uuid.UUID(fields["u"]),
            expires_at=datetime.fromtimestamp(fields["e"], UTC),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidDownloadLink() from None
    if grant.job_id != job_id or now >= grant.expires_at:
        raise InvalidDownloadLink()
    return grant
