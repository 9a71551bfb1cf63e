"""The orphan sweeper: upload files that no event and no tus row will ever name.

Every other deletion answers an event, but these have none to answer. A multipart upload
stores its files under `uploads/<job>/` before the job's first event is appended, so a
process killed in between leaves whole files, or a `~…partial` one it was writing, for
a job the log never heard of; so does a job of tus uploads whose transaction never
committed after its hard links. A tus upload's file (`uploads/tus/<id>`) is left behind
when its row was deleted but the process died before unlinking it, or when a job took
the upload and the process died before unlinking the tus name (that second name would
keep the bytes after the job's `UploadsPurged`), and a process killed while making a job
of tus uploads can leave the `<id>.<hex>.staged` second name it was about to move.

One round at start and every `VR_EXPIRY_INTERVAL_S`, in each process running the
reactors (deleting twice is harmless): a job folder whose job has no event, a tus file
with no row or a row a job took, and a staged name, is deleted once nothing in it has
changed for `VR_ORPHAN_GRACE_S` (judged by ctime, which a write, a rename into a folder
and a new hard link all move; mtime would make a fresh link to old bytes look old). The
grace is what keeps an upload still being received (its folder changes as bytes arrive,
its append follows its last byte at once) out of reach.
Local disk only: a bucket holds no partial objects, and its listing has no ages here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from service.events.job import job_stream
from service.events.notify import wait_for_wake

log = logging.getLogger(__name__)

NAME = "orphan_sweeper"
TUS = "tus"
STAGED = ".staged"  # service/tus/files.py `stage`: a second name while a job is made

_KNOWN_STREAMS = "SELECT stream_id FROM events WHERE stream_id = ANY($1::text[]) AND version = 1"
_TUS_ROWS = "SELECT upload_id, job_id FROM tus_uploads WHERE upload_id = ANY($1::uuid[])"


@dataclass
class Quiet:
    """Candidates whose newest change is older than the grace: job folders and tus files."""

    job_folders: dict[uuid.UUID, Path] = field(default_factory=dict)
    tus_files: dict[uuid.UUID, Path] = field(default_factory=dict)
    staged: list[Path] = field(default_factory=list)


def _newest_change(path: Path) -> float:
    """The latest ctime of a file, or of a folder and everything in it."""
    newest = path.lstat().st_ctime
    if path.is_dir() and not path.is_symlink():
        for folder, _, names in os.walk(path):
            newest = max(newest, os.lstat(folder).st_ctime)
            for name in names:
                try:
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_ctime)
                except FileNotFoundError:
                    continue
    return newest


def _quiet_candidates(uploads_dir: Path, before: float) -> Quiet:
    """Blocking: scan `uploads/` for job folders and tus files untouched since `before`."""
    quiet = Quiet()
    places = [(uploads_dir, quiet.job_folders), (uploads_dir / TUS, quiet.tus_files)]
    for folder, into in places:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if _newest_change(path) >= before:
                    continue
                if into is quiet.tus_files and entry.name.endswith(STAGED):
                    quiet.staged.append(path)
                else:
                    into[uuid.UUID(entry.name)] = path
            except (ValueError, FileNotFoundError):
                continue  # not ours (tus/, stray names), or gone meanwhile
    return quiet


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class OrphanSweeper:
    """A component of the reactors role."""

    name = NAME

    def __init__(
        self, pool: asyncpg.Pool, uploads_dir: Path, *, grace_s: float, interval_s: float
    ) -> None:
        self.pool, self.uploads_dir = pool, uploads_dir
        self.grace_s, self.interval_s = grace_s, interval_s
        self._wake = asyncio.Event()
        self._stopping = False

    async def sweep_once(self) -> list[Path]:
        """Delete what is orphaned and quiet; the paths deleted."""
        quiet = await asyncio.to_thread(
            _quiet_candidates, self.uploads_dir, time.time() - self.grace_s
        )
        doomed: list[Path] = list(quiet.staged)
        if quiet.job_folders:
            streams = {job_stream(j): j for j in quiet.job_folders}
            known = {r[0] for r in await self.pool.fetch(_KNOWN_STREAMS, list(streams))}
            doomed += [quiet.job_folders[j] for s, j in streams.items() if s not in known]
        if quiet.tus_files:
            rows = {r[0]: r[1] for r in await self.pool.fetch(_TUS_ROWS, list(quiet.tus_files))}
            doomed += [
                path
                for upload_id, path in quiet.tus_files.items()
                if upload_id not in rows or rows[upload_id] is not None
            ]
        for path in doomed:
            await asyncio.to_thread(_remove, path)
            log.info(
                "deleted orphaned upload %s (no event or tus row names it)",
                path.relative_to(self.uploads_dir.parent),
                extra={"action": "orphans.deleted"},
            )
        return doomed

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.sweep_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("orphan sweep failed: %r", exc, extra={"action": "orphans.failed"})
            await wait_for_wake(self._wake, self.interval_s)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
