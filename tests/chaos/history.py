"""What the client was told: one record per request, kept for the checker (Jepsen's
history). A request with no answer (connection refused or cut, timeout) is recorded
too; its effect is unknown, and the checker treats it so."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Exchange:
    """One request and its answer."""

    kind: str  # submit_multipart, submit_tus, tus_*, status, download, cancel, probe, …
    method: str
    path: str
    started: float  # monotonic seconds
    ended: float = 0.0
    status: int | None = None  # None: no answer
    error: str | None = None  # why there was no answer
    code: str | None = None  # `error.code` of an error body
    json_error: bool = False  # a >= 400 answer carried {"error": {"code", "message"}}
    job_id: str | None = None
    pg_down: bool = False  # sent while the nemesis held PostgreSQL down

    @property
    def seconds(self) -> float:
        return self.ended - self.started


class History:
    """Every exchange, in the order they ended; written out as JSON lines for a post-mortem."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.pg_down = False  # set by the nemesis around an outage

    def begin(self, kind: str, method: str, path: str, job_id: str | None = None) -> Exchange:
        return Exchange(kind, method, path, time.monotonic(), job_id=job_id, pg_down=self.pg_down)

    def end(self, exchange: Exchange) -> Exchange:
        exchange.ended = time.monotonic()
        self.exchanges.append(exchange)
        return exchange

    def write(self, path: Path) -> None:
        with path.open("w") as out:
            for exchange in self.exchanges:
                out.write(json.dumps(asdict(exchange)) + "\n")

    def accepted_jobs(self) -> dict[str, str]:
        """Job id → how it was submitted, for every 202 a submission got."""
        return {
            e.job_id: e.kind
            for e in self.exchanges
            if e.kind in ("submit_multipart", "submit_tus") and e.status == 202 and e.job_id
        }
