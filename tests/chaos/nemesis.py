"""The nemesis: at random moments, one fault at a time — SIGKILL a random service process
(its supervisor restarts it), stop PostgreSQL as a crash would and start it again, fill
the data volume and free it. It records what it did and how long recovery took."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from service.db.embedded import EmbeddedPostgres
from tests.chaos.client import ChaosClient
from tests.chaos.fleet import ServiceProcess
from tests.chaos.history import Exchange
from tests.chaos.volume import DataVolume

READY_TIMEOUT_S = 90.0
PG_DOWN_S = 2.5  # how long PostgreSQL stays down, probed all along
PROBE_EVERY_S = 0.25
RECOVERY_LIMIT_S = 30.0  # give up measuring (the checker then reports it) after this


@dataclass
class Faults:
    """What the nemesis did, and what it measured."""

    kills: Counter[str] = field(default_factory=Counter)
    kill_recovery_s: list[float] = field(default_factory=list)  # SIGKILL → /readyz 200
    pg_restarts: int = 0
    pg_recovery_s: list[float] = field(default_factory=list)  # PostgreSQL up → API 200
    pg_probes: list[Exchange] = field(default_factory=list)  # sent and answered while down
    api_restarted_by_outage: int = 0  # the API had to be restarted to recover: must be 0
    fills: int = 0
    fill_bytes: list[int] = field(default_factory=list)
    unrecovered: list[str] = field(default_factory=list)


class Nemesis:
    def __init__(
        self,
        fleet: list[ServiceProcess],
        postgres: EmbeddedPostgres,
        volume: DataVolume,
        client: ChaosClient,
        rng: random.Random,
        *,
        gap_s: tuple[float, float],
    ) -> None:
        self.fleet, self.postgres, self.volume = fleet, postgres, volume
        self.client, self.rng, self.gap_s = client, rng, gap_s
        self.faults = Faults()
        self._recoveries: set[asyncio.Task[None]] = set()
        self._targets: list[ServiceProcess] = []

    @property
    def api(self) -> ServiceProcess:
        return next(p for p in self.fleet if p.role == "api")

    async def run(self, kills: int, pg_restarts: int, fills: int) -> None:
        plan = ["kill"] * kills + ["pg"] * pg_restarts + ["fill"] * fills
        self.rng.shuffle(plan)
        for fault in plan:
            await asyncio.sleep(self.rng.uniform(*self.gap_s))
            if fault == "kill":
                await self._kill()
            elif fault == "pg":
                await self._restart_postgres()
            else:
                await self._fill()
        await asyncio.gather(*self._recoveries)

    # --- SIGKILL ---------------------------------------------------------------------

    async def _kill(self) -> None:
        """Each process in turn (shuffled rounds, so a few kills reach every role); the
        API preferably while a slow upload is mid-body, the moment a crash leaves files
        that no event names."""
        if not self._targets:
            self._targets = self.rng.sample(self.fleet, len(self.fleet))
        target = self._targets.pop()
        if target.role == "api":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.client.trickle_in_flight.wait(), 5)
            # Well into its 1.5 s, so the service has begun storing it.
            into = time.monotonic() - self.client.trickle_started_at
            await asyncio.sleep(max(0.0, self.rng.uniform(0.7, 1.2) - into))
        self.faults.kills[target.name] += 1
        killed_at = time.monotonic()
        target.kill()
        task = asyncio.create_task(self._measure_restart(target, killed_at))
        self._recoveries.add(task)
        task.add_done_callback(self._recoveries.discard)

    async def _measure_restart(self, target: ServiceProcess, killed_at: float) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        try:
            await asyncio.wait_for(target.started.wait(), READY_TIMEOUT_S)
            await target.wait_ready(self.client.session, max(1.0, deadline - time.monotonic()))
        except TimeoutError:
            self.faults.unrecovered.append(
                f"{target.name} not ready {READY_TIMEOUT_S} s after a kill"
            )
            return
        self.faults.kill_recovery_s.append(time.monotonic() - killed_at)

    async def all_ready(self) -> None:
        await asyncio.gather(*self._recoveries)
        for process in self.fleet:
            await process.wait_ready(self.client.session, READY_TIMEOUT_S)

    # --- PostgreSQL ------------------------------------------------------------------

    async def _restart_postgres(self) -> None:
        """Crash PostgreSQL with every service process up; probe the API while it is down;
        start it again and time how long the same API process takes to answer 200."""
        await self.all_ready()
        api, api_starts = self.api, self.api.starts
        self.faults.pg_restarts += 1
        self.client.history.pg_down = True
        await asyncio.to_thread(self.postgres.crash)
        down_until = time.monotonic() + PG_DOWN_S
        probes: list[asyncio.Task[Exchange]] = []
        while time.monotonic() < down_until:
            probes += [asyncio.create_task(p) for p in self._probes()]
            await asyncio.sleep(PROBE_EVERY_S)
        answered = await asyncio.gather(*probes)
        await asyncio.to_thread(self.postgres.restart)
        self.client.history.pg_down = False
        up_at = time.monotonic()
        self.faults.pg_probes += answered
        while time.monotonic() - up_at < RECOVERY_LIMIT_S:
            exchange, _, _ = await self.client.call(
                "recovery", "GET", "/api/jobs?limit=1", headers=self.client.auth
            )
            if exchange.status == 200:
                self.faults.pg_recovery_s.append(time.monotonic() - up_at)
                break
            await asyncio.sleep(0.05)
        else:
            self.faults.unrecovered.append(
                f"API not answering {RECOVERY_LIMIT_S} s after PostgreSQL"
            )
        if api.starts != api_starts:
            self.faults.api_restarted_by_outage += 1

    def _probes(self) -> list[object]:
        """A read, a read of one job, and an upload: each must be a quick 503 JSON."""
        known = list(self.client.state.accepted)
        job_id = self.rng.choice(known) if known else str(uuid.uuid4())
        form = aiohttp.FormData()
        form.add_field("variations", "1")
        name, data = self.client.clips[0]
        form.add_field("videos", data, filename=name, content_type="video/mp4")
        auth = self.client.auth
        return [
            self._probe("GET", "/api/jobs", headers=auth),
            self._probe("GET", f"/api/jobs/{job_id}", headers=auth),
            self._probe("POST", "/api/jobs", headers=auth, data=form),
        ]

    async def _probe(self, method: str, path: str, **kwargs: object) -> Exchange:
        exchange, _, _ = await self.client.call("probe", method, path, **kwargs)  # type: ignore[arg-type]
        return exchange

    # --- a full volume ---------------------------------------------------------------

    async def _fill(self) -> None:
        self.faults.fills += 1
        self.faults.fill_bytes.append(await asyncio.to_thread(self.volume.fill))
        await asyncio.sleep(self.rng.uniform(1.5, 3.0))
        await asyncio.to_thread(self.volume.free)
