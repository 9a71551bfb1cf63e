"""Bearer tokens: random, handed out once, stored only as SHA-256 so the table grants nothing.

A token is valid until it expires or is revoked (logout).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import asyncpg

from service.accounts.principal import Principal

TOKEN_BYTES = 32

_INSERT = """
INSERT INTO auth_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)
"""
_LOOKUP = """
SELECT u.id, u.username, u.is_admin
FROM auth_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2
"""
_REVOKE = """
UPDATE auth_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL
"""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue(
    pool: asyncpg.Pool, user_id: uuid.UUID, *, now: datetime, ttl_s: int
) -> tuple[str, datetime]:
    """A new token for `user_id` and when it expires; only its hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + timedelta(seconds=ttl_s)
    await pool.execute(_INSERT, token_hash(token), user_id, now, expires_at)
    return token, expires_at


async def principal_for(pool: asyncpg.Pool, token: str, *, now: datetime) -> Principal | None:
    """Who holds `token`, or None if it is unknown, expired or revoked."""
    row = await pool.fetchrow(_LOOKUP, token_hash(token), now)
    if row is None:
        return None
    return Principal(user_id=row["id"], username=row["username"], is_admin=row["is_admin"])


async def revoke(pool: asyncpg.Pool, token: str, *, now: datetime) -> None:
    await pool.execute(_REVOKE, token_hash(token), now)
