"""Render one claimed job: probe each upload, render what the log does not record yet,
record each output the moment it exists, then record how the job ended.

Sources and renders live in this worker's own scratch folder (`scratch.py`): a source
in a bucket is fetched there first (a local-disk source is read in place). Renders take
the worker's render slots (`render_slots.py`), so one job alone keeps every core busy;
each upload's outputs are still stored and recorded (`output_recorder.py`) in variation
order whatever finishes first, and a render that fails ends its upload's other renders.
A store that is down makes the attempt wait and retry (`storage_retry.py`), holding its
lease, rather than fail the job.

Every append is fenced (`attempt.py`): if another worker reclaimed the job, the attempt
stops. A cancel (`CancellationRequested`, which the worker watches for) sets the
attempt's `cancel` event: the render in flight is killed, nothing more is rendered, and
the attempt ends with `ProcessingFinished(cancelled)`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from pathlib import Path, PurePosixPath

from service.clock import Clock
from service.errors import ObjectChanged, ObjectNotFound, ProbeFailed, ProcessingError, RenderFailed
from service.events.job import FileError, Outcome, ProcessingFinished
from service.events.store import EventStore
from service.metrics import catalogue as metrics
from service.processing.attempt import Attempt, AttemptFenced, CancelAdopted
from service.processing.claim import Claim
from service.processing.output_recorder import OutputRecorder, remove_unrecorded_outputs
from service.processing.plan import Variation, still_to_render
from service.processing.probe import probe_duration
from service.processing.progress import JobProgress, Publish
from service.processing.render import RenderCancelled
from service.processing.render_slots import RenderSlots, cancel_and_wait, discard
from service.processing.scratch import Scratch, remove_tree
from service.processing.storage_retry import retrying
from service.projections.job_state import FileState
from service.storage.interface import ObjectStorage

__all__ = ["AttemptFenced", "JobRunner", "RenderSettings"]  # AttemptFenced: the worker's import

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000  # FileError.message's limit
CANCELLED_REASON = "cancelled on request"


@dataclass(frozen=True)
class RenderSettings:
    """What every render of this worker shares."""

    ffmpeg: str
    scratch: Scratch
    threads: int | None
    worker: str


class JobRunner:
    """Turns a Claim into outputs and events."""

    def __init__(
        self,
        store: EventStore,
        storage: ObjectStorage,
        settings: RenderSettings,
        clock: Clock,
        *,
        slots: asyncio.Semaphore | None = None,
        progress: Publish | None = None,
    ) -> None:
        self._store = store
        self._storage = storage
        self._settings = settings
        self._clock = clock
        # Renders running at once, shared by every job of the worker.
        self._renders = RenderSlots(
            settings.ffmpeg, settings.threads, slots or asyncio.Semaphore(1)
        )
        self._recorder = OutputRecorder(storage, settings.ffmpeg, clock)
        self._publish = progress

    async def run(self, claim: Claim, cancel: asyncio.Event | None = None) -> Outcome:
        folder = self._settings.scratch.job_folder(claim.job.job_id)
        try:
            return await self._run(claim, folder, cancel)
        finally:
            await asyncio.shield(asyncio.ensure_future(asyncio.to_thread(remove_tree, folder)))

    async def _run(self, claim: Claim, folder: Path, cancel: asyncio.Event | None) -> Outcome:
        job = claim.job
        cancel = cancel if cancel is not None else asyncio.Event()
        if job.status == "cancelling":
            cancel.set()  # asked for while no worker held it: render nothing more
        thumbnail_keys = [t.key for t in job.thumbnails()]
        leftovers = await retrying(
            lambda: remove_unrecorded_outputs(
                self._storage, job.job_id, job.outputs, also_keep=thumbnail_keys
            ),
            "remove unrecorded outputs",
        )
        if leftovers:
            log.info(
                "job %s: removed %d unrecorded output(s) of an earlier attempt",
                job.job_id,
                len(leftovers),
                extra={"action": "worker.leftovers_removed"},
            )
        attempt = Attempt(self._store, claim, self._settings.worker, cancel)
        if self._publish is not None:
            attempt.progress = JobProgress(
                job.job_id,
                job.owner_id,
                total=len(job.files) * job.variations_per_video,
                done=len(job.outputs),
                publish=self._publish,
            )
        files = [
            asyncio.create_task(self._render_file(attempt, variations, folder))
            for _, variations in _by_file(still_to_render(job))
        ]
        try:
            failures = await asyncio.gather(*files)  # on an exception the rest stop below
        finally:
            await asyncio.shield(cancel_and_wait(files))
        errors = [
            FileError(file_id=file_id, message=error[:MAX_ERROR_CHARS])
            for file_id, error in failures
            if error is not None
        ]
        outcome = await self._finish(attempt, errors)
        age_s = (self._now() - job.created_at).total_seconds()
        metrics.JOB_DURATION.labels(outcome).observe(age_s)
        log.info(
            "job %s %s (attempt %d, %d output(s), %d failed file(s))",
            job.job_id,
            outcome,
            claim.attempt,
            attempt.outputs,
            len(errors),
            extra={"action": "worker.job_finished"},
        )
        return outcome

    async def _finish(self, attempt: Attempt, errors: list[FileError]) -> Outcome:
        """Append the one `ProcessingFinished`. A cancel that this very append runs into
        turns it into a cancelled finish, so the outcome agrees with the recorded outputs."""
        while True:
            cancelled = attempt.cancel.is_set()
            if cancelled:
                outcome: Outcome = "cancelled"
            else:
                outcome = "completed" if not errors else "partial" if attempt.outputs else "failed"
            finished = ProcessingFinished(
                job_id=attempt.job_id,
                outcome=outcome,
                errors=tuple(errors),
                reason=CANCELLED_REASON if cancelled else None,
                finished_at=self._now(),
            )
            try:
                await attempt.append(finished, retry_on_cancel=cancelled)
            except CancelAdopted:
                continue  # write the cancelled finish instead
            return outcome

    async def _render_file(
        self, attempt: Attempt, variations: list[Variation], folder: Path
    ) -> tuple[uuid.UUID, str | None]:
        """Render one upload's missing variations: (file id, error message if it failed)."""
        settings = self._settings
        file = variations[0].file
        # Uploads are fetched and probed one after another, in upload order, so their
        # renders queue for the slots in plan order: the first upload's variations first.
        async with attempt.in_upload_order:
            if attempt.cancel.is_set():
                return file.file_id, None
            try:
                source = await self._source(file, folder)
            except ObjectNotFound:
                return file.file_id, "the uploaded file is missing from storage"
            except ObjectChanged:
                return file.file_id, "the uploaded file changed in storage since it was received"
            try:
                duration_s = await probe_duration(settings.ffmpeg, source)
            except ProbeFailed as exc:
                metrics.JOB_FAILURES.labels(exc.code).inc()
                return file.file_id, _describe(exc)
            # Each queues for a slot before the next upload's turn.
            renders = self._renders.queue(attempt, variations, source, duration_s, folder)
        recorded = 0
        source_pending = file.thumbnail is None  # made with the file's first recorded render
        try:
            for variation, render in zip(variations, renders, strict=True):
                try:
                    key, rendered = await render
                except RenderFailed as exc:
                    metrics.JOB_FAILURES.labels(exc.code).inc()
                    return file.file_id, _describe(exc)
                except RenderCancelled:
                    return file.file_id, None
                await self._recorder.record(
                    attempt, variation, key, rendered, source=source if source_pending else None
                )
                source_pending = False
                recorded += 1
                if attempt.progress is not None:
                    attempt.progress.finished_one(file.file_id, variation.index)
        finally:
            # The renders not recorded (a failure, a cancel, a fenced attempt) stop, and
            # the local files of those that had finished go.
            await asyncio.shield(discard(renders[recorded:]))
        return file.file_id, None

    async def _source(self, file: FileState, folder: Path) -> Path:
        """The upload as a local file: in place on the local disk, else fetched (streamed)
        into the job's scratch folder, checked against the ETag recorded at intake."""
        local = self._storage.local_path(file.upload_key)
        if local is not None:
            return local
        target = folder / f"source-{file.file_id}{PurePosixPath(file.upload_key).suffix}"

        async def fetch() -> Path:
            await asyncio.to_thread(target.unlink, missing_ok=True)  # a failed try's part
            await self._storage.fetch_to_file(file.upload_key, target, if_match=file.upload_etag)
            return target

        return await retrying(fetch, f"fetch {file.upload_key}")

    def _now(self) -> datetime:
        return self._clock.now()


def _by_file(variations: list[Variation]) -> Iterator[tuple[uuid.UUID, list[Variation]]]:
    for file_id, group in groupby(variations, key=lambda v: v.file.file_id):
        yield file_id, list(group)


def _describe(exc: ProcessingError) -> str:
    """What the user sees for a failed file: the reason, then ffmpeg's last lines."""
    return f"{exc.summary}\n{exc.detail}" if exc.detail else exc.summary
