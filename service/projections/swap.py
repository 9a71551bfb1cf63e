"""Put a fully built shadow table in place of a live one, inside the caller's transaction.

Renaming is O(1) whatever the table's size, and the caller's transaction makes it atomic:
a reader waits for the commit (milliseconds) and then reads the new table; it never sees
an empty or a half-built one. The indexes take the live ones' names, so a later migration
that names an index still finds it.
"""

from __future__ import annotations

import asyncpg

from service.errors import RebuildFailed

_COLUMNS = """
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
FROM pg_attribute
WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""
# The definition without its name and table: what must match between live and shadow.
_INDEXES = """
SELECT c.relname AS name, i.indisprimary AS is_primary, i.indisunique AS is_unique,
       regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? USING ', '') AS definition
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass($1)
ORDER BY c.relname
"""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def replace_table(conn: asyncpg.Connection, live: str, shadow: str) -> None:
    """Drop `live` and rename `shadow` (and its indexes) to take its place.

    Must run inside a transaction. Refuses, changing nothing, when the live table's
    columns or indexes changed since the shadow was made (a migration ran meanwhile).
    """
    await conn.execute(f"LOCK TABLE {quote(live)} IN ACCESS EXCLUSIVE MODE")
    live_columns = await conn.fetch(_COLUMNS, live)
    if [tuple(r) for r in live_columns] != [tuple(r) for r in await conn.fetch(_COLUMNS, shadow)]:
        raise RebuildFailed(live, f"the columns of {live} changed during the rebuild; run it again")
    renames = _index_renames(await conn.fetch(_INDEXES, live), await conn.fetch(_INDEXES, shadow))
    if renames is None:
        raise RebuildFailed(live, f"the indexes of {live} changed during the rebuild; run it again")
    statements = [
        f"DROP TABLE {quote(live)}",
        f"ALTER TABLE {quote(shadow)} RENAME TO {quote(live)}",
        *(f"ALTER INDEX {quote(old)} RENAME TO {quote(new)}" for old, new in renames),
    ]
    await conn.execute(";\n".join(statements))


def _index_renames(
    live: list[asyncpg.Record], shadow: list[asyncpg.Record]
) -> list[tuple[str, str]] | None:
    """(shadow name, live name) for each index, matched by definition; None if they differ."""
    unmatched = list(shadow)
    renames = []
    for index in live:
        key = (index["is_primary"], index["is_unique"], index["definition"])
        match = next(
            (s for s in unmatched if (s["is_primary"], s["is_unique"], s["definition"]) == key),
            None,
        )
        if match is None:
            return None
        unmatched.remove(match)
        renames.append((match["name"], index["name"]))
    return None if unmatched else renames
