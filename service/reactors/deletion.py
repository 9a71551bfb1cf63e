"""Delete one job's recorded objects, then whatever else lies under the job's prefix,
refusing any key outside that prefix.

Deleting is the reactors' side effect outside the database, so it must be safe to
repeat: an object that is already gone counts as deleted. The second step is the sweep
for objects the log never named (a crashed render's upload, an intake cut short): once
the job's files are owed deletion, nothing under its prefix is kept but what `keep` names.
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.errors import InvalidObjectKey, StorageError
from service.storage.interface import ObjectStorage
from service.storage.keys import check_key

log = logging.getLogger(__name__)

DELETES_IN_FLIGHT = 8  # concurrent deletes: a job has at most a few hundred objects


@dataclass(frozen=True)
class RecordedFile:
    """An object as the log knows it: its key and recorded size."""

    key: str
    size: int


@dataclass(frozen=True)
class FailedFile:
    key: str
    error: str


@dataclass
class DeletionReport:
    """What one attempt did: removed (or already gone), refused, or failed (retry these)."""

    deleted: list[RecordedFile] = field(default_factory=list)
    refused: list[RecordedFile] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed


async def delete_job_objects(
    storage: ObjectStorage,
    prefix: str,
    files: Sequence[RecordedFile],
    *,
    keep: frozenset[str] = frozenset(),
) -> DeletionReport:
    """Delete `files` (each must lie under `prefix`), then every other object under
    `prefix` but `keep`. The sweep runs only once every recorded file went, so a failed
    file is retried with everything else still in place."""
    report = DeletionReport()
    wanted = []
    for recorded in files:
        if _valid(recorded.key) and recorded.key.startswith(prefix):
            wanted.append(recorded)
        else:
            log.error("refusing to delete %r: it is not a key under %s", recorded.key, prefix,
                      extra={"action": "reactor.key_refused"})  # fmt: skip
            report.refused.append(recorded)
    limit = asyncio.Semaphore(DELETES_IN_FLIGHT)

    async def delete(key: str) -> str | None:
        async with limit:
            try:
                await storage.delete([key])
            except InvalidObjectKey:
                return "refused"
            except (OSError, StorageError) as exc:
                return _describe(exc)
        return None

    outcomes = await asyncio.gather(*(delete(r.key) for r in wanted))
    for recorded, error in zip(wanted, outcomes, strict=True):
        if error is None:
            report.deleted.append(recorded)
        elif error == "refused":
            report.refused.append(recorded)
        else:
            report.failed.append(FailedFile(recorded.key, error))
    if report.failed:
        return report
    try:
        leftovers = [o.key for o in await storage.list(prefix) if o.key not in keep]
    except (OSError, StorageError) as exc:
        report.failed.append(FailedFile(prefix, _describe(exc)))
        return report
    for key, error in zip(leftovers, await asyncio.gather(*map(delete, leftovers)), strict=True):
        if error is None:
            report.swept.append(key)
        elif error != "refused":
            report.failed.append(FailedFile(key, error))
    return report


def _valid(key: str) -> bool:
    try:
        check_key(key)
    except InvalidObjectKey:
        return False
    return True


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "error")
        return f"{name}: {exc.strerror or exc}"
    return f"{exc.__class__.__name__}: {getattr(exc, 'detail', None) or exc}"
