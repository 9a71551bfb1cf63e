"""Delete one job's recorded files and its folder, refusing anything outside its root.

Deleting is the reactors' side effect outside the database, so it must be safe to
repeat: a file that is already gone counts as deleted.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedFile:
    """A file as the log knows it: its data-dir-relative path and recorded size."""

    path: str
    size: int


@dataclass(frozen=True)
class FailedFile:
    path: str
    error: str


@dataclass
class DeletionReport:
    """What one attempt did: removed (or already gone), refused, or failed (retry these)."""

    deleted: list[RecordedFile] = field(default_factory=list)
    refused: list[RecordedFile] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


def inside(root: Path, candidate: Path) -> bool:
    """True when `candidate`, symlinks in its folders resolved, lies strictly under `root`."""
    if candidate.name in ("", ".", ".."):
        return False
    resolved, base = candidate.parent.resolve() / candidate.name, root.resolve()
    return resolved != base and resolved.is_relative_to(base)


def delete_job_files(
    data_dir: Path, root: Path, job_folder: str, files: Sequence[RecordedFile]
) -> DeletionReport:
    """Unlink `files` (data-dir-relative), then remove `root/job_folder`. Runs in a thread.

    A path outside `root` is refused and left alone. The folder goes only when every
    file went, so a failed file keeps its folder for the retry; leftovers the log does
    not know about (a crashed writer's partial file) go with the folder.
    """
    report = DeletionReport()
    for recorded in files:
        candidate = data_dir / recorded.path
        if Path(recorded.path).is_absolute() or not inside(root, candidate):
            log.error(
                "refusing to delete %s: it lies outside %s",
                recorded.path,
                root,
                extra={"action": "reactor.path_refused"},
            )
            report.refused.append(recorded)
            continue
        try:
            candidate.unlink(missing_ok=True)
        except OSError as exc:
            report.failed.append(FailedFile(recorded.path, _describe(exc)))
        else:
            report.deleted.append(recorded)
    if report.failed:
        return report
    folder = root / job_folder
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass
    except OSError as exc:
        relative = os.path.relpath(getattr(exc, "filename", None) or folder, data_dir)
        report.failed.append(FailedFile(relative, _describe(exc)))
    return report


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "error")
    return f"{name}: {exc.strerror or exc}"
