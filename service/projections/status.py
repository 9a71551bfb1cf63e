"""Where each subscription stands: its checkpoint, the log's head, its lag, its holder.

The holder is read from the advisory lock the active runner holds on its connection
(`runner.lock_key_sql`), so it names a live process; `subscriptions.holder` only
remembers the last process that became active.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from service.events.log_reader import Checkpoint, events_behind, head

# A bigint advisory key shows in pg_locks split in two: high half in classid, low in objid.
_SUBSCRIPTIONS = """
SELECT s.name, s.transaction_id, s.position, s.holder AS last_holder,
       a.application_name, l.pid
FROM subscriptions s
CROSS JOIN LATERAL (SELECT hashtextextended('vr-subscription:' || s.name, 0) AS key) k
LEFT JOIN pg_locks l
       ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid = ((k.key >> 32) & 4294967295)::oid
      AND l.objid = (k.key & 4294967295)::oid
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
ORDER BY s.name
"""
_OLDEST_UNSEEN_AGE_S = """
SELECT extract(epoch FROM now() - recorded_at)::float8 FROM events
WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
ORDER BY transaction_id, position
LIMIT 1
"""
_APP_PREFIX = "video-refresher "  # the application_name every connection of ours carries


@dataclass(frozen=True)
class SubscriptionStatus:
    name: str
    checkpoint: Checkpoint
    head: Checkpoint
    lag_events: int
    lag_s: float  # age of the oldest event it has not applied yet; 0 when caught up
    holder: str | None  # `host:pid (backend N)` of the active instance; None when none is
    last_holder: str | None


async def subscription_statuses(conn: asyncpg.Connection) -> list[SubscriptionStatus]:
    log_head = await head(conn)
    statuses = []
    for row in await conn.fetch(_SUBSCRIPTIONS):
        checkpoint = Checkpoint(row["transaction_id"], row["position"])
        age = await conn.fetchval(
            _OLDEST_UNSEEN_AGE_S, checkpoint.transaction_id, checkpoint.position
        )
        holder = None
        if row["pid"] is not None:
            app = (row["application_name"] or "").removeprefix(_APP_PREFIX) or "?"
            holder = f"{app} (backend {row['pid']})"
        statuses.append(
            SubscriptionStatus(
                name=row["name"],
                checkpoint=checkpoint,
                head=log_head,
                lag_events=await events_behind(conn, checkpoint),
                lag_s=max(0.0, age or 0.0),
                holder=holder,
                last_holder=row["last_holder"],
            )
        )
    return statuses
