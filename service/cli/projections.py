"""`projections rebuild NAME` and `projections status`: the admin's view of the read models."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service.cli.output import quiet_logs, stdout_may_close
from service.cli.progress import TerminalProgress
from service.db.database import open_database
from service.projections.rebuild import REBUILDABLE, check_rebuildable, rebuild
from service.projections.status import SubscriptionStatus, subscription_statuses
from service.settings import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("projections", help="rebuild read models; show subscriptions")
    actions = parser.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    rebuilding = actions.add_parser(
        "rebuild",
        help="replay a projection from the start into a shadow table and swap it in "
        "while the service keeps serving",
    )
    rebuilding.add_argument("name", metavar="NAME", help=f"one of: {', '.join(REBUILDABLE)}")
    rebuilding.add_argument("--quiet", action="store_true", help="no progress, no summary")
    rebuilding.set_defaults(run=run_rebuild)
    status = actions.add_parser(
        "status", help="each subscription's checkpoint, the log's head, lag and holder"
    )
    status.set_defaults(run=run_status)


async def run_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    quiet_logs()
    check_rebuildable(args.name)
    progress = None if args.quiet else TerminalProgress(f"rebuilding {args.name}")
    try:
        async with open_database(settings, migrate_schema=True) as database:
            report = await rebuild(database, args.name, progress=progress)
    finally:
        if progress is not None:
            progress.finish()
    if not args.quiet:
        with stdout_may_close():
            print(
                f"rebuilt {report.name}: {report.events:,} events, {report.jobs:,} jobs in "
                f"{report.seconds:.1f} s ({report.events / report.seconds:,.0f} events/s); "
                f"the swap paused the live runner {report.swap_ms:.0f} ms; "
                f"checkpoint at position {report.checkpoint.position:,}"
            )
    return 0


async def run_status(settings: Settings, args: argparse.Namespace) -> int:
    quiet_logs()
    async with (
        open_database(settings, migrate_schema=True) as database,
        database.pool.acquire() as conn,
    ):
        statuses = await subscription_statuses(conn)
    with stdout_may_close():
        print(format_statuses(statuses))
        sys.stdout.flush()
    return 0


def format_statuses(statuses: list[SubscriptionStatus]) -> str:
    header = ("NAME", "CHECKPOINT", "HEAD", "LAG EVENTS", "LAG S", "HOLDER")
    rows = [
        (
            s.name,
            f"{s.checkpoint.position:,}",
            f"{s.head.position:,}",
            f"{s.lag_events:,}",
            f"{s.lag_s:.1f}",
            s.holder or (f"none (last: {s.last_holder})" if s.last_holder else "none"),
        )
        for s in statuses
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [
            r[i].ljust(widths[i]) if i in (0, 5) else r[i].rjust(widths[i]) for i in range(len(r))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) if rows else "no subscriptions yet"
