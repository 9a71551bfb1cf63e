"""An attempt's place in its job's stream: every append expects the version the attempt
last wrote, so the attempt is fenced.

If another worker reclaimed the job (this one lost its lease without noticing), the next
append fails and the attempt stops (`AttemptFenced`). A cancel that lands between two of
our appends is the one other writer we accept: we adopt its version, so exactly one
finish is written.
"""

from __future__ import annotations

import asyncio
import logging

from service.errors import WrongExpectedVersion
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import CancellationRequested, job_stream
from service.events.store import EventStore
from service.processing.claim import Claim
from service.processing.progress import JobProgress

log = logging.getLogger(__name__)


class AttemptFenced(Exception):
    """Another attempt wrote to the job's stream: this one no longer owns the job."""


class CancelAdopted(Exception):
    """The append met a `CancellationRequested` and took its version; nothing was written."""


class Attempt:
    """The attempt's place in the job's stream: appends expect the version it last wrote."""

    def __init__(self, store: EventStore, claim: Claim, worker: str, cancel: asyncio.Event) -> None:
        self._store = store
        self.job_id = claim.job.job_id
        self.number = claim.attempt
        self.version = claim.job.version
        self.outputs = len(claim.job.outputs)
        self.cancel = cancel
        self.progress: JobProgress | None = None
        self._appending = asyncio.Lock()  # renders end together; appends go one at a time
        self.in_upload_order = asyncio.Lock()
        self._metadata = EventMetadata(
            correlation_id=str(self.job_id),
            causation_id=str(claim.started_event_id),
            actor=f"worker {worker}",
        )

    async def append(self, event: Event, *, retry_on_cancel: bool) -> None:
        """Append at our version. Shielded: a write that began finishes even if the job is
        cancelled, so the log and the files never disagree about it.

        If the stream moved only by a `CancellationRequested`, the cancel is adopted (its
        version becomes ours, `cancel` is set) and the event is appended again, or, unless
        `retry_on_cancel`, CancelAdopted is raised for the caller to write another one.
        Any other writer fences this attempt off (AttemptFenced).
        """
        stream = job_stream(self.job_id)
        new = NewEvent.of(event, metadata=self._metadata)
        async with self._appending:
            while True:
                try:
                    result = await asyncio.shield(self._store.append(stream, [new], self.version))
                except WrongExpectedVersion as exc:
                    if not await self._adopt_cancel(stream):
                        log.warning(
                            "job %s: attempt %d was overtaken (stream at %s); stopping it",
                            self.job_id,
                            self.number,
                            exc.actual,
                            extra={"action": "worker.fenced"},
                        )
                        raise AttemptFenced(str(self.job_id)) from None
                    if not retry_on_cancel:
                        raise CancelAdopted(str(self.job_id)) from None
                    continue
                self.version = result.version
                return

    async def _adopt_cancel(self, stream: str) -> bool:
        """True (and the version moved past it) when only cancels were appended since ours."""
        newer = [e for e in await self._store.read_stream(stream) if e.version > self.version]
        if not newer or any(not isinstance(e.event, CancellationRequested) for e in newer):
            return False
        self.version = newer[-1].version
        self.cancel.set()
        return True
