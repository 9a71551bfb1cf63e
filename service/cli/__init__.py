"""The `video-refresher` command: every subcommand reads the same VR_ settings.

Each command group lives in its own module and registers itself with `add_parser`;
commands return an exit status. Errors become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
from collections.abc import Sequence

from service.cli import audit, jobs, migrate, projections, replay, serve, users
from service.errors import ConfigurationError, VideoRefresherError
from service.logs import configure_logging
from service.settings import load_settings

COMMAND_MODULES = [serve, migrate, users, jobs, replay, audit, projections]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="video-refresher",
        description="Video Refresher: refreshed ad-video variations from an event-sourced job log.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        result = args.run(settings, args)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except VideoRefresherError as exc:
        print(f"video-refresher: error: {exc.message}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigurationError) or exc.status < 500 else 1
    except KeyboardInterrupt:
        return 130
    finally:
        logging.shutdown()
