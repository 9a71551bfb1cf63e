"""`replay JOB_ID` and `replay --all`: the log as an auditor reads it.

One job: its events as a timeline (or JSON lines), optionally cut at a time or a
position, then the state folded from them with the projection's own `evolve`. The whole
log: every event in commit order, streamed page by page in constant memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from service.audit.timeline import event_json, event_line, state_lines, when
from service.cli.output import quiet_logs, stdout_may_close
from service.db.database import open_database
from service.errors import BadRequest, NotFound
from service.events.base import event_class
from service.events.job import job_stream
from service.events.log_reader import START, Checkpoint, read_all
from service.events.store import EventStore
from service.projections.job_state import evolve, initial_state
from service.settings import Settings

_FIRST_AT_OR_AFTER = """
SELECT transaction_id, position FROM events WHERE position >= $1 ORDER BY position LIMIT 1
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="print a job's history and folded state, or the whole log in commit order",
        description="Print one job's events and the state folded from them, or with --all "
        "every event of the log in commit order.",
    )
    parser.add_argument("job_id", nargs="?", metavar="JOB_ID")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--as-of",
        metavar="TIMESTAMP",
        help="only events recorded by then (ISO 8601; UTC when it has no offset)",
    )
    parser.add_argument("--until-position", metavar="N", help="only events up to position N")
    parser.add_argument("--all", action="store_true", help="every job's events, in commit order")
    parser.add_argument(
        "--from-position", metavar="N", help="with --all: start at the event at position N"
    )
    parser.add_argument(
        "--type", action="append", metavar="T", help="with --all: only this event type (repeatable)"
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class _Cut:
    as_of: datetime | None
    until_position: int | None

    def __str__(self) -> str:
        parts = []
        if self.as_of is not None:
            parts.append(f"as of {when(self.as_of)}")
        if self.until_position is not None:
            parts.append(f"up to position {self.until_position}")
        return " and ".join(parts)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"not an ISO 8601 timestamp: {text!r}", field="as_of") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_position(text: str, option: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(f"{option} needs a position (an integer >= 0), not {text!r}", field=option)
    return value


def parse_job_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(f"not a job id: {text!r}", field="job_id") from None


async def run(settings: Settings, args: argparse.Namespace) -> int:
    quiet_logs()
    if args.all == (args.job_id is not None):
        raise BadRequest("give either a JOB_ID or --all")
    if args.all and (args.as_of or args.until_position):
        raise BadRequest("--as-of and --until-position apply to one job, not to --all")
    if not args.all and (args.from_position or args.type):
        raise BadRequest("--from-position and --type apply to --all")
    # Everything is checked before the database is opened: a typo costs nothing.
    if args.all:
        start = None
        if args.from_position:
            start = parse_position(args.from_position, "--from-position")
        for name in args.type or ():
            event_class(name)  # unknown types are an error, not an empty answer
        async with open_database(settings, migrate_schema=True) as database:
            with stdout_may_close():
                await replay_all(database.pool, start, args.type, as_json=args.json)
        return 0
    job_id = parse_job_id(args.job_id)
    cut = _Cut(
        parse_timestamp(args.as_of) if args.as_of else None,
        parse_position(args.until_position, "--until-position") if args.until_position else None,
    )
    async with open_database(settings, migrate_schema=True) as database:
        with stdout_may_close():
            await replay_job(EventStore(database.pool), job_id, cut, as_json=args.json)
    return 0


async def replay_job(store: EventStore, job_id: uuid.UUID, cut: _Cut, *, as_json: bool) -> None:
    stream = job_stream(job_id)
    events = await store.read_stream(stream, as_of=cut.as_of, up_to_position=cut.until_position)
    if not events:
        if await store.stream_version(stream) == 0:
            raise NotFound(f"no job {job_id}")
        raise NotFound(f"job {job_id} has no events {cut}")
    out = sys.stdout
    if not as_json:
        header = f"job {job_id}: {len(events)} event(s)"
        out.write(header + (f" {cut}" if str(cut) else "") + "\n")
    state = initial_state()
    for recorded in events:
        if as_json:
            out.write(json.dumps(event_json(recorded)) + "\n")
        else:
            out.write(event_line(recorded, state) + "\n")
        state = evolve(state, recorded)
    if as_json:
        out.write(json.dumps({"state": state.model_dump(mode="json") if state else None}) + "\n")
    elif state is None:
        out.write("state: none (the stream has no UploadReceived, so the job never existed)\n")
    else:
        out.write("\n".join(state_lines(state)) + "\n")
    out.flush()


async def replay_all(
    pool: asyncpg.Pool, from_position: int | None, types: list[str] | None, *, as_json: bool
) -> None:
    async with pool.acquire() as conn:
        start = START
        if from_position is not None:
            first = await conn.fetchrow(_FIRST_AT_OR_AFTER, from_position)
            if first is None:
                return
            # Just before that event in commit order: it and all that commits after it.
            start = Checkpoint(first["transaction_id"], first["position"] - 1)
        out = sys.stdout
        async for recorded in read_all(conn, start, types=types):
            if as_json:
                out.write(json.dumps(event_json(recorded)) + "\n")
            else:
                out.write(event_line(recorded, with_stream=True) + "\n")
        out.flush()
