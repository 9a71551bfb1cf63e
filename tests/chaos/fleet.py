"""The service as separate `serve` processes (API, two workers, reactors), each one
restarted when it dies — by the nemesis's SIGKILL or by failing to start while
PostgreSQL is down — as a process supervisor (systemd, Kubernetes) would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
RESTART_DELAY_S = 0.3  # a supervisor's pause before starting a dead process again
STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """One `serve` with its role, port and log; `supervise` keeps it running."""

    name: str
    role: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    unexpected_exits: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)  # set by each start
    _killed: bool = False
    _stopping: bool = False
    _started_at: float = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def start(self) -> None:
        env = {**self.env, "VR_ROLE": self.role, "VR_PORT": str(self.port)}
        log = await asyncio.to_thread(open, self.log_dir / f"{self.name}.log", "ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "service",
                "serve",
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            log.close()
        self.starts += 1
        self.started.set()
        self._started_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as a crash or the OOM killer leaves it."""
        if self.process is not None and self.process.returncode is None:
            self._killed = True
            self.started.clear()
            self.process.send_signal(signal.SIGKILL)

    async def supervise(self) -> None:
        """Restart the process whenever it exits, until `stop`."""
        while not self._stopping:
            assert self.process is not None
            await self.process.wait()
            if self._stopping:
                return
            if not self._killed:
                self.unexpected_exits += 1
            self._killed = False
            await asyncio.sleep(RESTART_DELAY_S)
            if not self._stopping:
                await self.start()

    async def wait_ready(self, session: aiohttp.ClientSession, timeout_s: float) -> float:
        """Seconds from this start until `/readyz` answers 200; raises on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(
                    f"{self.base}/readyz", timeout=aiohttp.ClientTimeout(2)
                ) as r:
                    if r.status == 200:
                        return time.monotonic() - self._started_at
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.name} not ready within {timeout_s} s")

    async def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after a while); the exit status of a clean stop."""
        self._stopping = True
        if self.process is None or self.process.returncode is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            return None


def service_env(database_url: str, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The settings every chaos process shares: one database, one data volume, quick polls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VR_")}
    env.update(
        PYTHONPATH=str(ROOT),
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(data_dir),
        VR_POLL_INTERVAL_S="0.2",
        VR_WORKER_CONCURRENCY="1",
        VR_FFMPEG_THREADS="1",
        # Seldom enough that a 1.5-3 s fill is not always seen as pressure (which would
        # evict every finished job, leaving few ZIPs to compare), often enough to run.
        VR_EXPIRY_INTERVAL_S="20",
        VR_POOL_MIN_SIZE="1",
        VR_POOL_MAX_SIZE="5",
        VR_LOG_LEVEL="INFO",
        VR_ORPHAN_GRACE_S="10",  # a killed upload's files go 10 s after its last byte
        **extra,
    )
    return env


def build_fleet(env: dict[str, str], log_dir: Path) -> list[ServiceProcess]:
    """The API, two workers and the reactors: four `serve` processes on one database."""
    return [
        ServiceProcess("api", "api", env, log_dir),
        ServiceProcess("worker-1", "worker", env, log_dir),
        ServiceProcess("worker-2", "worker", env, log_dir),
        ServiceProcess("reactors", "reactors", env, log_dir),
    ]
