"""A worker's scratch folder on its own machine: fetched sources and fresh renders.

Each worker process works in `scratch/w<pid>/`, a job in `scratch/w<pid>/<job>/`, removed
when the attempt ends however it ends. A process that died cannot clean up after itself,
so each new worker first removes every `w<pid>` folder whose process is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "w"


class Scratch:
    """This process's scratch folder under `root` (the settings' scratch_dir)."""

    def __init__(self, root: Path, pid: int | None = None) -> None:
        self.root = root
        self.folder = root / f"{PREFIX}{pid or os.getpid()}"

    def job_folder(self, job_id: uuid.UUID) -> Path:
        return self.folder / str(job_id)

    def reclaim(self) -> list[Path]:
        """Remove the folders of worker processes that no longer run. Runs in a thread."""
        removed = []
        if not self.root.is_dir():
            return removed
        for entry in self.root.iterdir():
            pid = _pid_of(entry.name)
            if pid is None or entry == self.folder or _alive(pid):
                continue
            remove_tree(entry)
            removed.append(entry)
        if removed:
            log.info("removed %d dead worker scratch folder(s)", len(removed),
                     extra={"action": "worker.scratch_reclaimed"})  # fmt: skip
        return removed


def remove_tree(path: Path) -> None:
    """Remove a scratch folder; a missing one is already gone. Runs in a thread."""
    shutil.rmtree(path, ignore_errors=True)


def _pid_of(name: str) -> int | None:
    if not name.startswith(PREFIX) or not name[len(PREFIX) :].isdigit():
        return None
    return int(name[len(PREFIX) :])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
