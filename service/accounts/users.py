"""The `users` table: create, find, list, change passwords, and the first admin.

Usernames are unique regardless of case; the database enforces that and the format.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from service.errors import InvalidUsername, UnknownUser, UserExists

USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
FIRST_ADMIN = "admin"

_INSERT = """
INSERT INTO users (id, username, password_hash, is_admin, created_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, username, password_hash, is_admin, created_at
"""
# Only when no account exists; DO NOTHING makes two instances starting at once safe.
_INSERT_FIRST_ADMIN = """
INSERT INTO users (id, username, password_hash, is_admin, created_at)
SELECT $1, $2, $3, true, $4
WHERE NOT EXISTS (SELECT 1 FROM users)
ON CONFLICT DO NOTHING
RETURNING id
"""
_BY_NAME = """
SELECT id, username, password_hash, is_admin, created_at FROM users
WHERE lower(username) = lower($1)
"""
_BY_ID = "SELECT id, username, password_hash, is_admin, created_at FROM users WHERE id = $1"
_ALL = "SELECT id, username, password_hash, is_admin, created_at FROM users ORDER BY username"
_ANY = "SELECT EXISTS (SELECT 1 FROM users)"
_SET_PASSWORD = "UPDATE users SET password_hash = $2 WHERE lower(username) = lower($1)"


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    username: str
    password_hash: str
    is_admin: bool
    created_at: datetime


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise InvalidUsername(username)
    return username


def _user(row: asyncpg.Record) -> User:
    return User(**dict(row))


async def create_user(
    pool: asyncpg.Pool, username: str, password_hash: str, *, is_admin: bool, now: datetime
) -> User:
    check_username(username)
    try:
        row = await pool.fetchrow(_INSERT, uuid.uuid4(), username, password_hash, is_admin, now)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "users_username_key":
            raise UserExists(username) from None
        raise
    return _user(row)


async def create_first_admin(pool: asyncpg.Pool, password_hash: str, now: datetime) -> bool:
    """Create `admin` if there are no accounts at all; True only for the instance that did."""
    inserted = await pool.fetchval(
        _INSERT_FIRST_ADMIN, uuid.uuid4(), FIRST_ADMIN, password_hash, now
    )
    return inserted is not None


async def any_user(pool: asyncpg.Pool) -> bool:
    return await pool.fetchval(_ANY)


async def find_user(pool: asyncpg.Pool, username: str) -> User | None:
    if not USERNAME.fullmatch(username):
        return None
    row = await pool.fetchrow(_BY_NAME, username)
    return _user(row) if row else None


async def find_user_by_id(pool: asyncpg.Pool, user_id: uuid.UUID) -> User | None:
    row = await pool.fetchrow(_BY_ID, user_id)
    return _user(row) if row else None


async def usernames(pool: asyncpg.Pool, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names by id, for showing owners (an id with no user left is absent)."""
    rows = await pool.fetch("SELECT id, username FROM users WHERE id = ANY($1::uuid[])", user_ids)
    return {r["id"]: r["username"] for r in rows}


async def list_users(pool: asyncpg.Pool) -> list[User]:
    return [_user(r) for r in await pool.fetch(_ALL)]


async def set_password(pool: asyncpg.Pool, username: str, password_hash: str) -> None:
    status = await pool.execute(_SET_PASSWORD, username, password_hash)
    if status.endswith(" 0"):
        raise UnknownUser(username)
