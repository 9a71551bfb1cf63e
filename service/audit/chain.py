"""Recompute every stream's hash chain and report the first broken link of each stream.

Each event's stored hash is SHA-256 over the previous event's hash and the event's own
stream, version, type, data and metadata (sql/0003). This module recomputes it here, in
Python, from the stored columns rather than by calling the database function that wrote
it, so a replaced function cannot vouch for itself. A link is checked against the
previous event's stored hash: an edited event breaks its own link, an event whose hash
was recomputed after the edit breaks the next one, and a deleted event leaves a gap in
the versions. Dropping a stream's last events leaves no broken link; the job view,
compared by `audit verify` too, still remembers them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import asyncpg

# jsonb's text form is the canonical encoding the hash was computed over at append time.
_ROWS = """
SELECT stream_id, version, position, type, data::text AS data, metadata::text AS metadata, hash
FROM events
ORDER BY stream_id, version
"""
PREFETCH = 2000  # rows per round trip of the cursor


def link_hash(
    previous: bytes | None, stream: str, version: int, event_type: str, data: str, metadata: str
) -> bytes:
    """The hash an event must carry, given its predecessor's (None for version 1)."""
    text = "\n".join(
        (previous.hex() if previous else "", stream, str(version), event_type, data, metadata)
    )
    return hashlib.sha256(text.encode("utf-8")).digest()


@dataclass(frozen=True)
class BrokenLink:
    stream_id: str
    version: int
    position: int
    reason: str


@dataclass
class ChainReport:
    streams: int = 0
    events: int = 0
    broken: list[BrokenLink] = field(default_factory=list)


async def verify_chains(conn: asyncpg.Connection) -> ChainReport:
    """Check every event of every stream; call inside a transaction (a cursor needs one).

    Memory holds one row and the broken links found, whatever the size of the log.
    """
    report = ChainReport()
    stream: str | None = None
    previous: bytes | None = None
    expected = 1
    broken = False
    async for row in conn.cursor(_ROWS, prefetch=PREFETCH):
        report.events += 1
        if row["stream_id"] != stream:
            stream, previous, expected, broken = row["stream_id"], None, 1, False
            report.streams += 1
        if broken:
            continue  # only the first broken link of a stream is reported
        reason = None
        if row["version"] != expected:
            reason = f"version {expected} is missing (the event was deleted)"
        else:
            computed = link_hash(
                previous, stream, row["version"], row["type"], row["data"], row["metadata"]
            )
            if computed != row["hash"]:
                reason = "the stored hash does not match the event's content and its predecessor"
        if reason is not None:
            report.broken.append(BrokenLink(stream, row["version"], row["position"], reason))
            broken = True
        previous, expected = row["hash"], expected + 1
    return report
