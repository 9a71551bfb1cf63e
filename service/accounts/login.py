"""Logging in: limiter check, password check (same cost for unknown users), token issue."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from service.accounts import passwords, tokens, users
from service.accounts.rate_limit import LoginLimiter
from service.errors import InvalidCredentials, TooManyLoginAttempts


def limiter_keys(username: str, address: str) -> list[str]:
    return [f"user:{username.lower()}", f"addr:{address}"]


async def log_in(
    pool: asyncpg.Pool,
    limiter: LoginLimiter,
    *,
    username: str,
    password: str,
    address: str,
    now: datetime,
    token_ttl_s: int,
) -> tuple[str, datetime]:
    """A fresh token and its expiry; the same InvalidCredentials for unknown user and bad
    password, and TooManyLoginAttempts once a username or address failed too often."""
    keys = limiter_keys(username, address)
    moment = now.timestamp()
    wait = limiter.retry_after(keys, moment)
    if wait is not None:
        raise TooManyLoginAttempts(wait)
    user = await users.find_user(pool, username)
    if not await passwords.verify_password(password, user.password_hash if user else None):
        limiter.failed(keys, moment)
        raise InvalidCredentials()
    assert user is not None
    limiter.reset(keys[0])
    return await tokens.issue(pool, user.id, now=now, ttl_s=token_ttl_s)
