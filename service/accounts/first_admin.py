"""The quickstart's first account: with no accounts at all, `serve` creates `admin`.

Two instances starting at once both try; the insert is conditional and conflict-free, so
exactly one creates it and only that one logs the password.
"""

from __future__ import annotations

import logging

import asyncpg

from service.accounts import passwords, users
from service.clock import Clock

log = logging.getLogger(__name__)


async def ensure_first_admin(pool: asyncpg.Pool, clock: Clock) -> str | None:
    """Create `admin` when there is no account; return its password if this call did."""
    if await users.any_user(pool):
        return None
    password = passwords.generate_password()
    created = await users.create_first_admin(
        pool, await passwords.hash_password(password), clock.now()
    )
    if not created:
        return None
    log.warning(
        "No accounts existed, so an admin account was created. Username: %s  Password: %s  "
        "(shown only this once; change it with `video-refresher users reset-password %s`)",
        users.FIRST_ADMIN,
        password,
        users.FIRST_ADMIN,
        extra={"action": "accounts.first_admin"},
    )
    return password
