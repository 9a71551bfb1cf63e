"""`serve`, plus an event-loop lag sampler, for bench/live.py (not for production).

    VR_BENCH_LAG_FILE=/tmp/lag.txt python bench/live_serve.py

Every 10 ms a task asks to sleep 10 ms and records by how much it overslept (what any
callback waiting on the loop would have waited) and how much CPU the loop's thread used
meanwhile; at shutdown the samples are written to the file as `<unix time> <lag seconds>
<cpu seconds>`, so the benchmark picks those of its window. A lag longer than the CPU
used was time the process spent waiting for a core, not running its own code.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from array import array
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import service.cli.serve as serve_command  # noqa: E402
from service.cli import main  # noqa: E402
from service.http.app import create_app  # noqa: E402

TICK_S = 0.01


async def _sample(stamps: array[float], lags: array[float], cpus: array[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        asked, cpu = loop.time(), time.thread_time()
        await asyncio.sleep(TICK_S)
        stamps.append(time.time())
        lags.append(max(0.0, loop.time() - asked - TICK_S))
        cpus.append(time.thread_time() - cpu)  # what the loop's thread ran meanwhile


def _write(path: str, stamps: array[float], lags: array[float], cpus: array[float]) -> None:
    """Runs in a thread at shutdown."""
    with open(path, "w") as out:
        out.writelines(
            f"{t:.3f} {lag:.6f} {cpu:.6f}\n" for t, lag, cpu in zip(stamps, lags, cpus, strict=True)
        )


async def _lag_ctx(app: web.Application) -> AsyncIterator[None]:
    samples = array("d"), array("d"), array("d")  # 24 bytes a sample: no weight on RSS
    task = asyncio.create_task(_sample(*samples))
    yield
    task.cancel()
    await asyncio.to_thread(_write, os.environ["VR_BENCH_LAG_FILE"], *samples)


def _create_app_with_sampler(*args: object, **kwargs: object) -> web.Application:
    app = create_app(*args, **kwargs)  # type: ignore[arg-type]
    app.cleanup_ctx.append(_lag_ctx)
    return app


if __name__ == "__main__":
    serve_command.create_app = _create_app_with_sampler  # type: ignore[assignment]
    sys.exit(main(["serve"]))
