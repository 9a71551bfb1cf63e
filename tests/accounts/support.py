"""Accounts for tests: create users straight in the database, log in over HTTP."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.accounts import passwords, users
from service.clock import SystemClock

PASSWORD = "correct horse battery staple"


async def make_user(
    pool: asyncpg.Pool, name: str, *, admin: bool = False, password: str = PASSWORD
) -> users.User:
    hashed = await passwords.hash_password(password)
    return await users.create_user(pool, name, hashed, is_admin=admin, now=SystemClock().now())


async def log_in(client: Any, name: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/auth/login", json={"username": name, "password": password})
    assert response.status == 200, await response.text()
    return (await response.json())["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
