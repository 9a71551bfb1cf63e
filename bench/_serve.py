"""Benchmark plumbing: `serve` in a subprocess on a free port, ready before it is used."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 120.0  # migrations on a fresh database, on a loaded machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(frozen=True)
class Served:
    pid: int
    port: int
    url: str
    log: Path  # the process's stderr


@contextlib.asynccontextmanager
async def running_serve(
    database_url: str, data_dir: Path, *, role: str = "api", **settings: str
) -> AsyncIterator[Served]:
    """`python -m service serve` on `database_url`, answering /readyz; SIGTERM after.
    `settings` are more VR_ variables (`pool_max_size="20"` is VR_POOL_MAX_SIZE)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VR_")}
    env.update(VR_DATABASE_URL=database_url, VR_DATA_DIR=str(data_dir), VR_PORT=str(port),
               VR_ROLE=role, VR_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))  # fmt: skip
    env.update({f"VR_{name.upper()}": value for name, value in settings.items()})
    log = data_dir.parent / f"serve-{port}.log"
    stderr = await asyncio.to_thread(_open_log, data_dir, log)
    with stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", "serve", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    served = Served(process.pid, port, f"http://127.0.0.1:{port}", log)
    try:
        await _wait_ready(served, process)
        yield served
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()


def _open_log(data_dir: Path, log: Path) -> BinaryIO:
    """Runs in a thread."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return log.open("wb")


async def _wait_ready(served: Served, process: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                break
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{served.url}/readyz") as ready:
                    if ready.status == 200:
                        return
            await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(served.log.read_text, errors="replace"))[-3000:]
    raise SystemExit(f"serve did not become ready:\n{tail}")
