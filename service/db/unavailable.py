"""The database is down or unreachable: how driver errors say so.

While PostgreSQL restarts, asyncpg reports it in several ways: connecting raises a plain
`OSError` (socket refused or gone) or `CannotConnectNowError` (starting up, shutting
down); a pooled connection the server dropped raises `ConnectionDoesNotExistError` or,
mid-query, `AdminShutdownError`/`CrashShutdownError`. The HTTP error mapping asks
`is_database_down` so a client gets a quick 503 it can retry (`DatabaseUnavailable`),
not a 500 and a traceback. Writers whose own cleanup depends on whether a write
committed ask `outcome_unknown`.
"""

from __future__ import annotations

import asyncpg

_DRIVER_DOWN = (
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, failures to connect
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def is_database_down(exc: BaseException) -> bool:
    """True for errors that mean "the server is unreachable", not "the query was wrong"."""
    if isinstance(exc, _DRIVER_DOWN):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        message = str(exc).lower()
        return "closed" in message or "closing" in message or "connection" in message
    # Connecting raises the socket's own error; only one raised inside asyncpg is ours
    # (an OSError from a file or a bucket must stay what it is).
    return isinstance(exc, (OSError, TimeoutError)) and _raised_in_driver(exc)


_CUT_OFF_MID_STATEMENT = (
    asyncpg.ConnectionDoesNotExistError,  # "connection was closed in the middle of operation"
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def outcome_unknown(exc: BaseException) -> bool:
    """True when the connection broke while a statement may have been running, so a
    commit may have happened without its answer arriving. Failing to connect at all is
    not such a case: nothing was sent."""
    if isinstance(exc, _CUT_OFF_MID_STATEMENT):
        return True
    return isinstance(exc, ConnectionResetError) and _raised_in_driver(exc)


def _raised_in_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith("asyncpg"):
            return True
        tb = tb.tb_next
    return False
