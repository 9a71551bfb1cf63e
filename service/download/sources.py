"""Before the first byte: every planned body exists with its recorded size and ETag.

Local files are stat'ed in one thread hop; objects in a store are HEADed, a few at a
time. A store that is down raises StorageUnavailable here, so the download answers 503
before it has sent anything.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from service.download.archive import ArchiveEntry, ArchivePlan, Body, check_sources
from service.errors import ArchiveSourceChanged, ObjectNotFound
from service.storage.interface import ObjectStorage

log = logging.getLogger(__name__)

HEADS_IN_FLIGHT = 8  # concurrent HEADs when checking a job's remote outputs


async def verified_plan(plan: ArchivePlan, storage: ObjectStorage, job: object) -> ArchivePlan:
    """`plan`, its remote entries pinned to the ETag they have now if the log recorded
    none; raises ArchiveSourceChanged when a body is missing or not what was recorded."""
    missing = await asyncio.to_thread(check_sources, plan)
    if missing:
        log.error("job %s lists outputs missing on disk: %s", job, missing,
                  extra={"action": "download.output_missing"})  # fmt: skip
        raise ArchiveSourceChanged(str(missing[0]), expected_size=-1, actual_size=None)
    remote = [e for e in plan.entries if e.path is None]
    if not remote:
        return plan
    limit = asyncio.Semaphore(HEADS_IN_FLIGHT)

    async def check(entry: ArchiveEntry) -> ArchiveEntry:
        async with limit:
            try:
                found = await storage.head(entry.key)
            except ObjectNotFound:
                found = None
        if found is None or found.size != entry.size or entry.etag not in (None, found.etag):
            log.error("job %s: output %s is missing or changed", job, entry.key,
                      extra={"action": "download.output_missing"})  # fmt: skip
            raise ArchiveSourceChanged(entry.key, entry.size, found.size if found else None)
        return entry if entry.etag else dataclasses.replace(entry, etag=found.etag)

    checked = {e.key: e for e in await asyncio.gather(*(check(e) for e in remote))}
    segments = tuple(
        Body(s.offset, checked[s.entry.key]) if isinstance(s, Body) and s.entry.path is None else s
        for s in plan.segments
    )
    return dataclasses.replace(plan, segments=segments)
