"""One chaos session, shared by the suite's short run (`test_chaos.py`) and the bench
(`bench/chaos.py`): a PostgreSQL cluster of its own, a data volume, the service as four
`serve` processes, the client and the nemesis; then the service settles and the checker
judges the history and the final state."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from service.db.embedded import EmbeddedPostgres
from tests.chaos.checker import Findings, check, settle
from tests.chaos.client import ChaosClient
from tests.chaos.fleet import ROOT, ServiceProcess, build_fleet, service_env
from tests.chaos.history import History
from tests.chaos.nemesis import Faults, Nemesis
from tests.chaos.volume import DataVolume, close_volume, open_volume

PASSWORD = "chaos-password-1"
READY_TIMEOUT_S = 120.0


@dataclass
class ChaosOptions:
    work: Path
    clips: list[Path]
    kills: int = 50
    pg_restarts: int | None = None  # default: one per ten kills, at least one
    fills: int | None = None  # likewise
    seed: int | None = None
    gap_s: tuple[float, float] = (0.5, 2.5)
    cancel_ratio: float = 0.2
    settle_timeout_s: float = 180.0
    volume_mib: int = 256
    mount: bool = True  # False: the reserve setting even where a tmpfs could be mounted

    def planned(self) -> tuple[int, int, int]:
        tenth = max(1, self.kills // 10)
        pg = self.pg_restarts if self.pg_restarts is not None else tenth
        return self.kills, pg, self.fills if self.fills is not None else tenth


@dataclass
class ChaosReport:
    seed: int
    volume: str
    faults: Faults
    findings: Findings
    requests: int
    unanswered: int
    submitted: dict[str, int]
    downloads: int
    resumed: int
    cancels: int
    fault_seconds: float
    settle_seconds: float
    starts: dict[str, int] = field(default_factory=dict)
    clean_exits: dict[str, int | None] = field(default_factory=dict)


async def run_chaos(options: ChaosOptions) -> ChaosReport:
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    (options.work / "logs").mkdir(parents=True, exist_ok=True)
    # The cluster and the volume live outside pytest's basetemp (which other sessions
    # prune) and go when the session ends; logs and the history stay in `work`.
    root = Path(tempfile.mkdtemp(prefix="vr-chaos-"))
    postgres = EmbeddedPostgres(root / "pgdata")
    volume: DataVolume | None = None
    fleet: list[ServiceProcess] = []
    supervisors: list[asyncio.Task[None]] = []
    try:
        url = await postgres.astart()
        volume = await asyncio.to_thread(
            open_volume, root / "data", options.volume_mib, mount=options.mount
        )
        env = service_env(url, volume.path, volume.env())
        await asyncio.to_thread(_cli, env, "migrate")
        await asyncio.to_thread(
            _cli, env, "users", "add", "chaos", "--password-stdin", stdin=PASSWORD
        )
        fleet = build_fleet(env, options.work / "logs")
        for process in fleet:
            await process.start()
        supervisors = [asyncio.create_task(p.supervise()) for p in fleet]
        report = await _session(options, rng, seed, fleet, postgres, volume, url, env)
    finally:
        clean = {}
        for process in fleet:
            clean[process.name] = await process.stop()
        for task in supervisors:
            task.cancel()
        await asyncio.gather(*supervisors, return_exceptions=True)
        await postgres.astop()
        if volume is not None:
            await asyncio.to_thread(close_volume, volume)
        await asyncio.to_thread(shutil.rmtree, root, True)
    report.clean_exits = clean
    report.starts = {p.name: p.starts for p in fleet}
    return report


async def _session(
    options: ChaosOptions,
    rng: random.Random,
    seed: int,
    fleet: list[ServiceProcess],
    postgres: EmbeddedPostgres,
    volume: DataVolume,
    url: str,
    env: dict[str, str],
) -> ChaosReport:
    api = next(p for p in fleet if p.role == "api")
    history = History()
    async with aiohttp.ClientSession() as session:
        for process in fleet:
            await process.wait_ready(session, READY_TIMEOUT_S)
        async with session.post(
            f"{api.base}/api/auth/login", json={"username": "chaos", "password": PASSWORD}
        ) as r:
            token = (await r.json())["token"]
    client = ChaosClient(api.base, token, options.clips, rng, history)
    async with client:
        nemesis = Nemesis(fleet, postgres, volume, client, rng, gap_s=options.gap_s)
        stop_submitting, stop_following = asyncio.Event(), asyncio.Event()
        submitters = [
            asyncio.create_task(client.submit_forever(stop_submitting, options.cancel_ratio))
            for _ in range(2)
        ]
        follower = asyncio.create_task(client.follow_forever(stop_following))
        started = time.monotonic()
        try:
            await nemesis.run(*options.planned())
            await nemesis.all_ready()
        finally:
            fault_seconds = time.monotonic() - started
            stop_submitting.set()
            await asyncio.gather(*submitters, return_exceptions=True)
        settle_seconds = await settle(url, volume.path, options.settle_timeout_s)
        await _quiet_follow(client)
        stop_following.set()
        await follower
        findings = await check(
            history=history,
            state=client.state,
            faults=nemesis.faults,
            database_url=url,
            data_dir=volume.path,
            base=api.base,
            auth=client.auth,
            cli_env=env,
        )
    history.write(options.work / "history.jsonl")
    accepted = history.accepted_jobs()
    return ChaosReport(
        seed=seed,
        volume=volume.mode,
        faults=nemesis.faults,
        findings=findings,
        requests=len(history.exchanges),
        unanswered=sum(1 for e in history.exchanges if e.status is None),
        submitted={
            kind: list(accepted.values()).count(kind) for kind in ("submit_multipart", "submit_tus")
        },
        downloads=len(client.state.downloads),
        resumed=sum(1 for d in client.state.downloads.values() if d.pieces > 1),
        cancels=client.state.cancels_asked,
        fault_seconds=fault_seconds,
        settle_seconds=settle_seconds,
    )


async def _quiet_follow(client: ChaosClient) -> None:
    """Let the follower see the last jobs finish and download them (bounded)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.state
        waiting = [j for j in state.accepted if j not in state.finished]
        owed = [
            j
            for j, s in state.finished.items()
            if s in ("completed", "partial", "cancelled") and j not in state.tried
        ]
        if not waiting and not owed:
            return
        await asyncio.sleep(0.5)


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "service", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
