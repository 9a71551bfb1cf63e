"""A worker in a `serve` process of its own (role `worker`), as a deployment runs it."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.cli.test_commands import ROOT, cli_env


@contextlib.asynccontextmanager
async def worker_process(
    database_url: str, data_dir: Path, **extra_env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `serve` with VR_ROLE=worker for the block, then stop it (SIGTERM, then SIGKILL)."""
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(data_dir),
        VR_ROLE="worker",
        VR_PORT="0",
        VR_POLL_INTERVAL_S="0.05",
        **extra_env,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
