"""Render one claimed job: probe each upload, render what the log does not record yet,
store and record each output the moment it exists, then record how the job ended.

Sources and renders live in this worker's own scratch folder (`scratch.py`): a source
in a bucket is fetched there first (a local-disk source is read in place), a render is
stored under its key, and only then is `VariationRendered` appended with the key, size,
CRC-32 and the stored object's ETag: the log never names an object that is not stored.
A store that is down makes the attempt wait and retry (`storage_retry.py`), holding its
lease, rather than fail the job.

Renders take the worker's render slots: with several slots a job renders several
variations at once, of one upload or of several, so one job alone keeps every core busy.
Each upload's outputs are still stored and recorded in variation order whatever finishes
first; a render that fails ends its upload's other renders.

Every append expects the version this attempt last wrote, so the attempt is fenced: if
another worker reclaimed the job (this one lost its lease without noticing), the next
append fails and this attempt stops, removing the file it could not record.

A cancel (`CancellationRequested`, which the worker watches for) sets the attempt's
`cancel` event: the render in flight is killed, nothing more is rendered, and the attempt
ends with `ProcessingFinished(cancelled)`. A cancel that lands between two of our appends
is the one other writer we accept: we adopt its version, so exactly one finish is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from pathlib import Path, PurePosixPath
from typing import Any

from service.clock import Clock
from service.errors import (
    ObjectChanged,
    ObjectNotFound,
    ProbeFailed,
    ProcessingError,
    RenderFailed,
    WrongExpectedVersion,
)
from service.events.base import Event, EventMetadata, NewEvent
from service.events.job import (
    CancellationRequested,
    EffectParameters,
    FileError,
    Outcome,
    ProcessingFinished,
    Thumbnail,
    VariationRendered,
    job_stream,
)
from service.events.store import EventStore
from service.metrics import catalogue as metrics
from service.processing.claim import Claim
from service.processing.plan import Variation, still_to_render
from service.processing.probe import probe_duration
from service.processing.progress import JobProgress, Publish
from service.processing.render import RenderCancelled, RenderedFile, render_variation
from service.processing.scratch import Scratch, remove_tree
from service.processing.storage_retry import retrying
from service.processing.thumbnail import make_thumbnail
from service.projections.job_state import FileState, OutputState
from service.storage.interface import ObjectStorage, StoredObject
from service.storage.keys import OUTPUTS, check_key, job_prefix, output_key

log = logging.getLogger(__name__)

RENDER_TIMEOUT_BASE_S = 120.0
RENDER_TIMEOUT_PER_VIDEO_S = 30.0
"""A render may take 120 s plus 30 s per second of video before it counts as stuck:
`veryfast` H.264 runs near real time even on a small machine, so this only stops hangs."""
MAX_ERROR_CHARS = 4000  # FileError.message's limit
CANCELLED_REASON = "cancelled on request"


class AttemptFenced(Exception):
    """Another attempt wrote to the job's stream: this one no longer owns the job."""


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
        self._slots = slots or asyncio.Semaphore(1)
        """Renders running at once, shared by every job of the worker."""
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
        attempt = _Attempt(self._store, claim, self._settings.worker, cancel)
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
            await asyncio.shield(_cancel_and_wait(files))
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

    async def _finish(self, attempt: _Attempt, errors: list[FileError]) -> Outcome:
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
        self, attempt: _Attempt, variations: list[Variation], folder: Path
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
            renders = [
                asyncio.create_task(
                    self._render_one(attempt, variation, source, duration_s, folder)
                )
                for variation in variations
            ]  # each starts (and queues for a slot) before the next upload's turn
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
                # Thumbnails first: storing the render may move its scratch file away.
                thumbnails = await self._thumbnails(
                    attempt, file.file_id, (source, rendered.path), key, with_source=source_pending
                )
                stored = await retrying(
                    lambda: self._storage.put_file(key, rendered.path),  # noqa: B023 (awaited now)
                    f"store {key}",
                )
                await self._record(attempt, variation, stored, rendered, thumbnails)
                source_pending = False
                recorded += 1
                if attempt.progress is not None:
                    attempt.progress.finished_one(file.file_id, variation.index)
        finally:
            # The renders not recorded (a failure, a cancel, a fenced attempt) stop, and
            # the local files of those that had finished go.
            await asyncio.shield(_discard_renders(renders[recorded:]))
        return file.file_id, None

    async def _render_one(
        self,
        attempt: _Attempt,
        variation: Variation,
        source: Path,
        duration_s: float,
        folder: Path,
    ) -> tuple[str, RenderedFile]:
        """Wait for a render slot, then render into the scratch folder: (key, the file)."""
        settings = self._settings
        file_id, index = variation.file.file_id, variation.index
        key = output_key(attempt.job_id, file_id, index, attempt.number)
        target = folder / key.rsplit("/", 2)[-2] / key.rsplit("/", 1)[-1]
        async with self._slots:
            if attempt.cancel.is_set():
                raise RenderCancelled()
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            progress = attempt.progress
            started = time.perf_counter()
            try:
                rendered = await render_variation(
                    settings.ffmpeg,
                    source,
                    target,
                    variation.effects,
                    threads=settings.threads,
                    timeout_s=RENDER_TIMEOUT_BASE_S + RENDER_TIMEOUT_PER_VIDEO_S * duration_s,
                    cancel=attempt.cancel,
                    on_progress=(
                        progress.start(file_id, index, duration_s) if progress is not None else None
                    ),
                )
            except BaseException:
                if progress is not None:
                    progress.dropped(file_id, index)
                raise
            metrics.RENDER_DURATION.observe(time.perf_counter() - started)
        return key, rendered

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

    async def _thumbnails(
        self,
        attempt: _Attempt,
        file_id: uuid.UUID,
        videos: tuple[Path, Path],
        key: str,
        *,
        with_source: bool,
    ) -> tuple[Thumbnail | None, Thumbnail | None]:
        """The output's thumbnail, and the source's when none is recorded yet, stored beside
        the output. Made only once a render exists, so a file that fails, or a job cancelled
        first, leaves none behind."""
        source, rendered = videos
        made = await self._thumbnail(rendered, rendered.with_suffix(".jpg"), str(
            PurePosixPath(key).with_suffix(".jpg")
        ))  # fmt: skip
        if not with_source:
            return made, None
        source_key = check_key(f"{PurePosixPath(key).parent}/source-a{attempt.number}.jpg")
        local = rendered.with_name(f"source-a{attempt.number}.jpg")
        return made, await self._thumbnail(source, local, source_key)

    async def _thumbnail(self, video: Path, local: Path, key: str) -> Thumbnail | None:
        made = await make_thumbnail(self._settings.ffmpeg, video, local)
        if made is None:
            return None
        stored = await retrying(lambda: self._storage.put_file(key, made.path), f"store {key}")
        return Thumbnail(key=stored.key, etag=stored.etag, size=made.size, sha256=made.sha256)

    async def _record(
        self,
        attempt: _Attempt,
        variation: Variation,
        stored: StoredObject,
        rendered: RenderedFile,
        thumbnails: tuple[Thumbnail | None, Thumbnail | None] = (None, None),
    ) -> None:
        event = VariationRendered(
            job_id=attempt.job_id,
            file_id=variation.file.file_id,
            variation_index=variation.index,
            key=stored.key,
            etag=stored.etag,
            size=rendered.size,
            crc32=rendered.crc32,
            effects=EffectParameters(**variation.effects.model_dump()),
            rendered_at=self._now(),
            thumbnail=thumbnails[0],
            source_thumbnail=thumbnails[1],
        )
        try:
            # A cancel racing this append does not undo the render: record it, then stop.
            await attempt.append(event, retry_on_cancel=True)
        except AttemptFenced:
            keys = [stored.key, *(t.key for t in thumbnails if t is not None)]
            await retrying(lambda: self._storage.delete(keys), f"delete {stored.key}")
            raise
        attempt.outputs += 1

    def _now(self) -> datetime:
        return self._clock.now()


class CancelAdopted(Exception):
    """The append met a `CancellationRequested` and took its version; nothing was written."""


class _Attempt:
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


def _by_file(variations: list[Variation]) -> Iterator[tuple[uuid.UUID, list[Variation]]]:
    for file_id, group in groupby(variations, key=lambda v: v.file.file_id):
        yield file_id, list(group)


async def _cancel_and_wait(tasks: list[asyncio.Task[Any]]) -> list[Any]:
    """Cancel `tasks` (a finished one ignores it) and wait for all: results or errors."""
    for task in tasks:
        task.cancel()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def _discard_renders(renders: list[asyncio.Task[tuple[str, RenderedFile]]]) -> None:
    """Stop renders that will not be recorded; delete the files of those that finished."""
    for outcome in await _cancel_and_wait(renders):
        if isinstance(outcome, tuple):
            await asyncio.to_thread(outcome[1].path.unlink, missing_ok=True)


def _describe(exc: ProcessingError) -> str:
    """What the user sees for a failed file: the reason, then ffmpeg's last lines."""
    return f"{exc.summary}\n{exc.detail}" if exc.detail else exc.summary


async def remove_unrecorded_outputs(
    storage: ObjectStorage,
    job_id: uuid.UUID,
    recorded: tuple[OutputState, ...],
    *,
    also_keep: Iterable[str] = (),
) -> list[str]:
    """Delete objects under `outputs/<job>/` that the log does not record: a crashed
    attempt's unrecorded render (recorded thumbnails, `also_keep`, stay)."""
    keep = {o.key for o in recorded} | set(also_keep)
    stray = [o.key for o in await storage.list(job_prefix(OUTPUTS, job_id)) if o.key not in keep]
    if stray:
        await storage.delete(stray)
    return stray
