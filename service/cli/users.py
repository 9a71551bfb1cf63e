"""`users add|list|reset-password`: manage accounts from the command line."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from service.accounts import passwords, users
from service.clock import SystemClock
from service.db.database import open_database
from service.errors import EmptyPassword
from service.settings import Settings


def _quiet() -> None:
    """Account commands answer on stdout and fail in one stderr line: keep INFO logs out."""
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("users", help="manage accounts")
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an account and print its password once")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may see every user's jobs")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="list accounts")
    listing.set_defaults(run=run_list)
    reset = actions.add_parser("reset-password", help="set a new password and print it once")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    reset.set_defaults(run=run_reset)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password to set and whether it was generated (and so must be shown)."""
    if not args.password_stdin:
        return passwords.generate_password(), True
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise EmptyPassword()
    return password, False


async def run_add(settings: Settings, args: argparse.Namespace) -> int:
    _quiet()
    users.check_username(args.name)
    password, generated = _password(args)
    hashed = await passwords.hash_password(password)
    async with open_database(settings, migrate_schema=True) as database:
        user = await users.create_user(
            database.pool, args.name, hashed, is_admin=args.admin, now=SystemClock().now()
        )
    role = "admin" if user.is_admin else "user"
    print(f"created {role} {user.username}")
    if generated:
        print(f"password: {password}")
    return 0


async def run_list(settings: Settings, args: argparse.Namespace) -> int:
    _quiet()
    async with open_database(settings, migrate_schema=True) as database:
        accounts = await users.list_users(database.pool)
    for user in accounts:
        role = "admin" if user.is_admin else "user"
        print(f"{user.username}\t{role}\t{user.created_at.isoformat()}")
    return 0


async def run_reset(settings: Settings, args: argparse.Namespace) -> int:
    _quiet()
    password, generated = _password(args)
    hashed = await passwords.hash_password(password)
    async with open_database(settings, migrate_schema=True) as database:
        await users.set_password(database.pool, args.name, hashed)
    print(f"password reset for {args.name}")
    if generated:
        print(f"password: {password}")
    return 0
