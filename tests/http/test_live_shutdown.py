"""SIGTERM closes every live stream at once: a `serve` process with 100 open streams
exits in under 2 s."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from typing import Any

import aiohttp

from service.settings import Settings
from tests.cli.test_commands import ROOT, cli_env, free_port
from tests.http.sse import SSEReader

STREAMS = 100
EXIT_WITHIN_S = 2.0


async def start_api(database_url: str, settings: Settings, port: int) -> Any:
    env = cli_env(
        VR_DATABASE_URL=database_url,
        VR_DATA_DIR=str(settings.data_dir),
        VR_ROLE="api",
        VR_PORT=str(port),
    )
    add = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service", "users", "add", "dana", "--password-stdin"],
        input="pass phrase of dana\n", env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "serve",
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_sigterm_with_100_open_streams_exits_in_under_2_s(
    database_url: str, settings: Settings
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = await start_api(database_url, settings, port)
    connector = aiohttp.TCPConnector(limit=0)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with session.get(f"{base}/healthz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, "serve did not start"
                await asyncio.sleep(0.1)
            login = await session.post(
                f"{base}/api/auth/login",
                json={"username": "dana", "password": "pass phrase of dana"},
            )
            token = (await login.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}
            # Given 100 open streams, each past its snapshot
            responses = await asyncio.gather(
                *(session.get(f"{base}/api/live", headers=headers) for _ in range(STREAMS))
            )
            assert all(r.status == 200 for r in responses)
            await asyncio.gather(*(SSEReader(r).next() for r in responses))
            # When the server gets SIGTERM
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(server.wait(), 30)
            took = time.monotonic() - started
            for response in responses:
                response.close()
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    # Then it exited cleanly, in under 2 s
    assert code == 0
    assert took < EXIT_WITHIN_S, took
