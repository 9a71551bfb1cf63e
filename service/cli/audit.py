"""`audit verify`: is the log intact, and does the job view say what the log says?

Both checks read one repeatable-read snapshot, so a service that keeps writing during
the audit neither breaks a chain mid-read nor makes a lagging view look wrong. Findings
go to stdout; the exit status is 1 when there is any.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service.audit.chain import ChainReport, verify_chains
from service.audit.compare import ViewReport, compare_job_view
from service.audit.objects import ObjectReport, verify_objects
from service.cli.output import quiet_logs, stdout_may_close
from service.db.database import open_database
from service.settings import Settings
from service.storage.factory import open_storage


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("audit", help="verify the event log and the read model")
    actions = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="recompute every hash chain and compare the job view with a replay of the log",
    )
    verify.add_argument(
        "--objects",
        action="store_true",
        help="also check that every upload and output the log names is stored as recorded",
    )
    verify.set_defaults(run=run_verify)


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    quiet_logs()
    async with (
        open_database(settings, migrate_schema=True) as database,
        database.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        chains = await verify_chains(conn)
        view = await compare_job_view(conn)
        objects = None
        if getattr(args, "objects", False):
            storage = open_storage(settings)
            try:
                objects = await verify_objects(conn, view.checkpoint, storage)
            finally:
                await storage.close()
    with stdout_may_close():
        problems = report(chains, view) + (report_objects(objects) if objects else 0)
        if objects:
            print(f"verify: {problems} problem(s)" if problems else "verify: ok")
        sys.stdout.flush()
    return 1 if problems else 0


def report_objects(objects: ObjectReport) -> int:
    """Print the storage findings; return how many problems there are."""
    bad = f"{len(objects.problems)} not as recorded" if objects.problems else "all as recorded"
    print(f"objects: {objects.objects:,} the log names: {bad}")
    for problem in objects.problems:
        print(f"  job {problem.job_id}: {problem.key}: {problem.reason}")
    return len(objects.problems)


def report(chains: ChainReport, view: ViewReport) -> int:
    """Print both findings; return how many problems there are."""
    broken = f"{len(chains.broken)} broken" if chains.broken else "every link intact"
    print(f"hash chains: {chains.streams:,} stream(s), {chains.events:,} event(s): {broken}")
    for link in chains.broken:
        print(
            f"  {link.stream_id}: version {link.version} (position {link.position}): {link.reason}"
        )
    differ = (
        f"{len(view.differences)} differ from the log" if view.differences else "all match the log"
    )
    at = f"position {view.checkpoint.position:,}"
    print(f"job view at {at}: {view.jobs:,} job(s) compared: {differ}")
    for difference in view.differences:
        for problem in difference.problems:
            print(f"  job {difference.job_id}: {problem}")
    problems = len(chains.broken) + len(view.differences)
    print(f"verify: {problems} problem(s)" if problems else "verify: ok")
    return problems
