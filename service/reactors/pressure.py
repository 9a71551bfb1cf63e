"""Storage pressure: how full the data volume is, and what evicting a job would free."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from service.projections.job_state import JobState


@dataclass(frozen=True)
class DiskUsage:
    used_bytes: int
    total_bytes: int

    @property
    def fraction(self) -> float:
        return self.used_bytes / self.total_bytes if self.total_bytes else 0.0


def measure(path: Path) -> tuple[int, int]:
    """(used, total) bytes of the volume holding `path`, as `df` counts them. Runs in a thread.

    Total is used + available to unprivileged users, so the root-reserved blocks count
    as full: the service must not rely on space only root may use.
    """
    stats = os.statvfs(path)
    used = (stats.f_blocks - stats.f_bfree) * stats.f_frsize
    return used, used + stats.f_bavail * stats.f_frsize


def freeable_bytes(state: JobState) -> int:
    """What deleting the job's files will free, from the log: outputs and unpurged uploads."""
    outputs = 0 if state.outputs_deleted else sum(o.size for o in state.outputs)
    uploads = 0 if state.uploads_purged else sum(f.size for f in state.files)
    return outputs + uploads
