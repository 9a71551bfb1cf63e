"""`migrate`: apply pending SQL migrations and say which."""

from __future__ import annotations

import argparse
from typing import Any

from service.db.database import open_database
from service.db.migrate import migrate
from service.settings import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("migrate", help="apply pending database migrations")
    parser.set_defaults(run=run)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    async with open_database(settings) as database, database.pool.acquire() as conn:
        applied = await migrate(conn)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0
