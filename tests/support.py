"""Small helpers shared by tests that wait on background components."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.bootstrap import Component


async def eventually(predicate: Callable[[], Any], within: float = 10.0) -> None:
    """Poll `predicate` (sync or async) until it is truthy; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(component: Component) -> AsyncIterator[asyncio.Task[None]]:
    """Run a background component for the duration of the block, then stop it."""
    task = asyncio.create_task(component.run())
    try:
        yield task
    finally:
        component.stop()
        await asyncio.wait_for(task, 10)


def record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the path of every file or folder fsynced, in order (still fsynced)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced
