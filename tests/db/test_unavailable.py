"""Which errors mean "the database is unreachable" (a 503 to retry), and which do not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from service.db.unavailable import is_database_down, outcome_unknown


async def test_connecting_to_a_server_that_is_not_there_is_database_down(tmp_path: Path) -> None:
    with pytest.raises(OSError) as caught:
        await asyncpg.connect(f"postgresql://postgres@/postgres?host={tmp_path}", timeout=5)
    assert is_database_down(caught.value)
    assert not outcome_unknown(caught.value)  # nothing was sent


async def test_a_connection_cut_mid_statement_is_down_with_an_unknown_outcome(
    database_url: str,
) -> None:
    victim = await asyncpg.connect(database_url)
    killer = await asyncpg.connect(database_url)
    try:
        pid = victim.get_server_pid()
        query = victim.fetchval("SELECT pg_sleep(10)")
        task = asyncio.ensure_future(query)
        await asyncio.sleep(0.2)
        await killer.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(Exception) as caught:
            await task
    finally:
        await killer.close()
        victim.terminate()
    assert is_database_down(caught.value)
    assert outcome_unknown(caught.value)


def test_an_os_error_of_our_own_and_a_bad_query_are_not() -> None:
    assert not is_database_down(FileNotFoundError("outputs/x.mp4"))
    assert not is_database_down(asyncpg.UndefinedTableError("no such table"))
