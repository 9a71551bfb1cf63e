"""ffmpeg children die with their worker, so a killed worker leaves no render running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil

from tests.cli.test_commands import ROOT

# A parent that starts a long-lived child the way the worker starts ffmpeg, prints the
# child's pid, then waits to be killed.
PARENT = """
import asyncio, sys
from service.processing.children import DIE_WITH_PARENT

async def main():
    child = await asyncio.create_subprocess_exec("sleep", "60", preexec_fn=DIE_WITH_PARENT)
    print(child.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_a_child_dies_when_its_parent_is_killed() -> None:
    # (the service runs its workers on Linux, the one system with prctl's PR_SET_PDEATHSIG)
    assert sys.platform.startswith("linux"), f"DIE_WITH_PARENT needs Linux, not {sys.platform}"
    # Given a process that started a child with DIE_WITH_PARENT
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        assert child.is_running()
        # When the parent is killed outright
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        # Then the child is gone too, at once (it would sleep on for a minute otherwise)
        _, alive = psutil.wait_procs([child], timeout=5)
        assert alive == []
    finally:
        if parent.poll() is None:
            parent.kill()
