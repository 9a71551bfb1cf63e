"""One append: a single plain INSERT on the happy path, extra round trips only when it
inserts nothing.

The statement reads the stream's head (version and hash), computes each event's chained
hash and inserts only if the head is the expected version, all in the caller's implicit
transaction. When it inserts nothing, or a racing writer makes the insert trip a unique
constraint, a second query finds out why: the ids are already stored (a no-op when the
content is identical, else DuplicateEventId) or the stream is elsewhere
(WrongExpectedVersion; "any" retries at the new head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import asyncpg

from service.errors import DuplicateEventId, WrongExpectedVersion

ANY: Literal["any"] = "any"
NO_STREAM: Literal["no_stream"] = "no_stream"
ExpectedVersion = int | Literal["any", "no_stream"]

# An "any" append that loses a race retries at the new head; every lost race means another
# writer made progress, so this bounds only pathological contention.
ANY_RETRIES = 50

# The chained hash, written out rather than calling event_chain_hash (sql/0003): that
# function uses convert_to, which is only STABLE, so PostgreSQL cannot inline it and
# re-plans its body on every execution before 18 (+40 us per append on 15). This must stay
# the same expression; the audit recomputes it with event_chain_hash, and
# tests/events/test_append.py checks the two agree.
_HASH = """sha256(convert_to(
    coalesce(encode({previous}, 'hex'), '') || E'\\n' || $1 || E'\\n' || ({version})::text
    || E'\\n' || {type} || E'\\n' || ({data})::text || E'\\n' || ({metadata})::text,
    'UTF8'))"""

# The stream's last version (0 when it has none) and that event's hash (NULL then).
_HEAD = """head AS (
    SELECT coalesce(last.version, 0) AS version, last.hash
    FROM (VALUES (1)) AS one
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM events e
        WHERE e.stream_id = $1 ORDER BY e.version DESC LIMIT 1
    ) AS last ON true
)"""

# $1 stream, $2 expected version (NULL = any), $3 event id, $4 type, $5 schema version,
# $6 data, $7 metadata. No row back: nothing was inserted.
_APPEND_ONE = f"""
WITH {_HEAD}
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata, hash)
SELECT $1, head.version + 1, $3::uuid, $4::text, $5::integer, $6::jsonb, $7::jsonb,
       {_HASH.format(previous="head.hash", version="head.version + 1", type="$4",
                     data="$6::jsonb", metadata="$7::jsonb")}
FROM head
WHERE $2::bigint IS NULL OR head.version = $2
RETURNING position, version, transaction_id
"""  # fmt: skip

# The same for a batch: the same parameters as arrays, the chain walked by recursion.
_APPEND_MANY = f"""
WITH RECURSIVE {_HEAD},
chain (i, version, hash) AS (
    SELECT 0, head.version, head.hash FROM head
    WHERE $2::bigint IS NULL OR head.version = $2
  UNION ALL
    SELECT c.i + 1, c.version + 1,
           {_HASH.format(previous="c.hash", version="c.version + 1",
                         type="($4::text[])[c.i + 1]", data="($6::jsonb[])[c.i + 1]",
                         metadata="($7::jsonb[])[c.i + 1]")}
    FROM chain c WHERE c.i < cardinality($3::uuid[])
)
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, metadata, hash)
SELECT $1, c.version, ($3::uuid[])[c.i], ($4::text[])[c.i], ($5::integer[])[c.i],
       ($6::jsonb[])[c.i], ($7::jsonb[])[c.i], c.hash
FROM chain c WHERE c.i > 0 ORDER BY c.i
RETURNING position, version, transaction_id
"""  # fmt: skip

# Which of the ids are stored, and whether each has the same stream, type and data.
_STORED = """
SELECT e.position, e.version, e.transaction_id, e.event_id,
       (e.stream_id = $1 AND e.type = n.type AND e.data = n.data) AS same
FROM unnest($2::uuid[], $3::text[], $4::jsonb[]) AS n(event_id, type, data)
JOIN events e ON e.event_id = n.event_id
ORDER BY e.position
"""

STREAM_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1"

# A racing writer took the version, or stored the id, between our read and our insert.
_RACES = frozenset({"events_stream_version_key", "events_event_id_key"})


@dataclass(frozen=True)
class Batch:
    """Validated, encoded events for one stream, in append order."""

    event_ids: list[UUID]
    types: list[str]
    schema_versions: list[int]
    data: list[str]
    metadata: list[str]


def expected_as_sql(expected: ExpectedVersion) -> int | None:
    """NULL for any, 0 for no stream, else the exact version."""
    if expected == ANY:
        return None
    if expected == NO_STREAM:
        return 0
    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        return expected
    raise ValueError(
        f"expected version must be an int >= 0, 'any' or 'no_stream', not {expected!r}"
    )


async def append_batch(
    conn: asyncpg.Connection, stream: str, batch: Batch, expected: ExpectedVersion
) -> Sequence[asyncpg.Record]:
    """Append `batch` to `stream` on `conn`; rows of (position, version, transaction_id).

    One statement when it succeeds. Meant for an implicit transaction: inside an explicit
    one, a racing writer's unique violation has already aborted the caller's transaction,
    so it is raised as it is.
    """
    expected_version = expected_as_sql(expected)
    if len(batch.event_ids) == 1:
        statement = _APPEND_ONE
        args: tuple[object, ...] = (
            stream,
            expected_version,
            batch.event_ids[0],
            batch.types[0],
            batch.schema_versions[0],
            batch.data[0],
            batch.metadata[0],
        )
    else:
        statement = _APPEND_MANY
        args = (stream, expected_version, *_columns(batch))
    actual = 0
    for _ in range(ANY_RETRIES):
        try:
            rows = await conn.fetch(statement, *args)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name not in _RACES or conn.is_in_transaction():
                raise
            rows = []
        if rows:
            return rows
        stored = await conn.fetch(_STORED, stream, batch.event_ids, batch.types, batch.data)
        if stored:
            if len(stored) == len(batch.event_ids) and all(r["same"] for r in stored):
                return stored  # a re-append: nothing to do, report where they are
            raise DuplicateEventId(stream, [str(r["event_id"]) for r in stored])
        actual = await conn.fetchval(STREAM_VERSION, stream)
        if expected_version is not None and actual != expected_version:
            raise WrongExpectedVersion(stream, expected, actual)
        # "any" lost a race for the version, or the racing writer rolled back: go again
    raise WrongExpectedVersion(stream, expected, actual)


def _columns(batch: Batch) -> tuple[object, ...]:
    return (batch.event_ids, batch.types, batch.schema_versions, batch.data, batch.metadata)
