"""ffmpeg children die with the worker, so a killed worker leaves no render running.

Without this, a SIGKILLed worker's ffmpeg would go on writing its partial file while
another worker reclaims the job and cleans the folder: an orphan file, and a process
nobody waits for. Linux lets a child ask to be killed when its parent dies
(prctl PR_SET_PDEATHSIG); elsewhere children are left as they are.
"""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved once, before any fork

    def set_parent_death_signal() -> None:
        """Runs in the child between fork and exec: one C call, nothing else."""
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return set_parent_death_signal


DIE_WITH_PARENT = _die_with_parent()
"""Pass as `preexec_fn` to create_subprocess_exec."""
