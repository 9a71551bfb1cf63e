"""Named checkpoints: where each subscriber has got to in the log's commit order."""

from __future__ import annotations

import asyncpg

from service.events.log_reader import Checkpoint

_ENSURE = "INSERT INTO subscriptions (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
_LOAD = "SELECT transaction_id, position FROM subscriptions WHERE name = $1"
_LOCK = "SELECT transaction_id, position FROM subscriptions WHERE name = $1 FOR UPDATE"
_STORE = """
UPDATE subscriptions SET transaction_id = $2, position = $3, updated_at = now() WHERE name = $1
"""
_SET_HOLDER = "UPDATE subscriptions SET holder = $2 WHERE name = $1"


async def load(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Checkpoint:
    """The subscriber's checkpoint, creating it at the start of the log if new."""
    await conn.execute(_ENSURE, name)
    row = await conn.fetchrow(_LOAD, name)
    return Checkpoint(row["transaction_id"], row["position"])


async def peek(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Checkpoint:
    """The checkpoint without creating it: the start of the log for a new subscriber."""
    row = await conn.fetchrow(_LOAD, name)
    return Checkpoint(row["transaction_id"], row["position"]) if row else Checkpoint()


async def lock(conn: asyncpg.Connection, name: str) -> Checkpoint:
    """Lock the checkpoint row for this transaction and return what it holds now."""
    row = await conn.fetchrow(_LOCK, name)
    return Checkpoint(row["transaction_id"], row["position"])


async def store(conn: asyncpg.Connection, name: str, checkpoint: Checkpoint) -> None:
    await conn.execute(_STORE, name, checkpoint.transaction_id, checkpoint.position)


async def set_holder(conn: asyncpg.Connection, name: str, holder: str | None) -> None:
    await conn.execute(_SET_HOLDER, name, holder)
