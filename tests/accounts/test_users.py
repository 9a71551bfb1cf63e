"""The users table: case-insensitive unique names, validated, and one first admin."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from service.accounts import first_admin, users
from service.clock import SystemClock
from service.errors import InvalidUsername, UnknownUser, UserExists
from tests.accounts.support import make_user


async def test_usernames_are_unique_regardless_of_case(pool: asyncpg.Pool) -> None:
    await make_user(pool, "Alice")
    with pytest.raises(UserExists):
        await make_user(pool, "alice")
    found = await users.find_user(pool, "ALICE")
    assert found is not None and found.username == "Alice"


@pytest.mark.parametrize("name", ["", "a" * 65, "with space", "ümlaut", "a/b", "a\nb"])
async def test_invalid_usernames_are_refused(pool: asyncpg.Pool, name: str) -> None:
    with pytest.raises(InvalidUsername):
        await make_user(pool, name)
    assert await users.find_user(pool, name) is None


async def test_the_database_itself_refuses_a_bad_username(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO users (id, username, password_hash) VALUES (gen_random_uuid(), 'a b', 'x')"
        )


async def test_resetting_an_unknown_users_password_fails(pool: asyncpg.Pool) -> None:
    with pytest.raises(UnknownUser):
        await users.set_password(pool, "nobody", "scrypt$...")


async def test_two_instances_starting_at_once_create_exactly_one_first_admin(
    pool: asyncpg.Pool,
) -> None:
    # Given no accounts, when two start-ups race to create the first admin
    results = await asyncio.gather(
        *(first_admin.ensure_first_admin(pool, SystemClock()) for _ in range(2))
    )
    # Then exactly one created it (and only it has a password to show)
    assert sum(r is not None for r in results) == 1
    assert [u.username for u in await users.list_users(pool)] == ["admin"]
    # And with an account present nothing more is created
    assert await first_admin.ensure_first_admin(pool, SystemClock()) is None
