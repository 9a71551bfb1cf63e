"""Idempotency-Key for job creation: the first request claims `(user, key)`, a repeat
within 24 h gets the first response, a repeat while the first still runs gets 409.

The claim is an INSERT … ON CONFLICT DO NOTHING, so concurrent duplicates cannot both
proceed. A failed request deletes its claim so the client may retry with the same key.
The fingerprint names the operation: a key reused for another operation is refused. The
upload body is not compared (that would mean reading it again).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from service.errors import BadRequest, IdempotencyInProgress, IdempotencyKeyReused

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_CHARS = 255
HEADER = "Idempotency-Key"

_DROP_STALE = "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at <= $3"
_CLAIM = """
INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, key) DO NOTHING
RETURNING true
"""
_FIND = """
SELECT fingerprint, response_status, response_body FROM idempotency_keys
WHERE user_id = $1 AND key = $2
"""
_COMPLETE = """
UPDATE idempotency_keys SET response_status = $3, response_body = $4::jsonb
WHERE user_id = $1 AND key = $2
"""
_RELEASE = """
DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND response_status IS NULL
"""

Response = tuple[int, dict[str, Any]]


def check_key(raw: str | None) -> str | None:
    """The header's key, None when absent; 400 when it is empty, too long or not ASCII."""
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_KEY_CHARS or not raw.isascii() or not raw.isprintable():
        raise BadRequest(f"{HEADER} must be 1-{MAX_KEY_CHARS} printable ASCII characters")
    return raw


async def run_once(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    key: str | None,
    *,
    fingerprint: str,
    now: datetime,
    action: Callable[[], Awaitable[Response]],
) -> Response:
    """`action`'s response, or the stored one when `key` was already used successfully."""
    if key is None:
        return await action()
    stored = await _claim(pool, user_id, key, fingerprint, now)
    if stored is not None:
        return stored
    try:
        status, body = await action()
    except BaseException:
        await asyncio.shield(pool.execute(_RELEASE, user_id, key))
        raise
    await asyncio.shield(pool.execute(_COMPLETE, user_id, key, status, json.dumps(body)))
    return status, body


async def _claim(
    pool: asyncpg.Pool, user_id: uuid.UUID, key: str, fingerprint: str, now: datetime
) -> Response | None:
    """None when this request now owns the key; the stored response when one exists."""
    await pool.execute(_DROP_STALE, user_id, key, now - KEY_LIFETIME)
    for _ in range(3):  # the holder may release between our insert and our read
        if await pool.fetchval(_CLAIM, user_id, key, fingerprint, now):
            return None
        row = await pool.fetchrow(_FIND, user_id, key)
        if row is None:
            continue
        if row["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        if row["response_status"] is None:
            raise IdempotencyInProgress()
        return row["response_status"], json.loads(row["response_body"])
    raise IdempotencyInProgress()
