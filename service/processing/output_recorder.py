"""Recording one rendered variation: store it (its thumbnails first), then append its
`VariationRendered` with the key, size, CRC-32 and the stored object's ETag.

The log never names an object that is not stored: the append comes last, and a render
whose append is fenced off has its stored objects deleted again. The converse, an object
stored but never recorded (a crash between the two), is swept by
`remove_unrecorded_outputs` when the next attempt starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath

from service.clock import Clock
from service.events.job import EffectParameters, Thumbnail, VariationRendered
from service.processing.attempt import Attempt, AttemptFenced
from service.processing.plan import Variation
from service.processing.render import RenderedFile
from service.processing.storage_retry import retrying
from service.processing.thumbnail import make_thumbnail
from service.projections.job_state import OutputState
from service.storage.interface import ObjectStorage, StoredObject
from service.storage.keys import OUTPUTS, check_key, job_prefix

Thumbnails = tuple[Thumbnail | None, Thumbnail | None]
"""The output's thumbnail and, with a file's first recorded render, the source's."""


class OutputRecorder:
    """Stores a finished render and its thumbnails, then records them in the job's log."""

    def __init__(self, storage: ObjectStorage, ffmpeg: str, clock: Clock) -> None:
        self._storage = storage
        self._ffmpeg = ffmpeg
        self._clock = clock

    async def record(
        self,
        attempt: Attempt,
        variation: Variation,
        key: str,
        rendered: RenderedFile,
        *,
        source: Path | None,
    ) -> None:
        """Store `rendered` under `key` and append its event; with `source` (no source
        thumbnail recorded yet), make and record the source's thumbnail too."""
        # Thumbnails first: storing the render may move its scratch file away.
        thumbnails = await self._thumbnails(attempt, rendered.path, key, source)
        stored = await retrying(lambda: self._storage.put_file(key, rendered.path), f"store {key}")
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
            await self._delete(stored, thumbnails)
            raise
        attempt.outputs += 1

    async def _thumbnails(
        self, attempt: Attempt, rendered: Path, key: str, source: Path | None
    ) -> Thumbnails:
        """The output's thumbnail, and the source's when asked, stored beside the output.
        Made only once a render exists, so a file that fails, or a job cancelled first,
        leaves none behind."""
        output_key = str(PurePosixPath(key).with_suffix(".jpg"))
        made = await self._thumbnail(rendered, rendered.with_suffix(".jpg"), output_key)
        if source is None:
            return made, None
        source_key = check_key(f"{PurePosixPath(key).parent}/source-a{attempt.number}.jpg")
        local = rendered.with_name(f"source-a{attempt.number}.jpg")
        return made, await self._thumbnail(source, local, source_key)

    async def _thumbnail(self, video: Path, local: Path, key: str) -> Thumbnail | None:
        made = await make_thumbnail(self._ffmpeg, video, local)
        if made is None:
            return None
        stored = await retrying(lambda: self._storage.put_file(key, made.path), f"store {key}")
        return Thumbnail(key=stored.key, etag=stored.etag, size=made.size, sha256=made.sha256)

    async def _delete(self, stored: StoredObject, thumbnails: Thumbnails) -> None:
        """Remove what a fenced attempt stored: the log will never name it."""
        keys = [stored.key, *(t.key for t in thumbnails if t is not None)]
        await retrying(lambda: self._storage.delete(keys), f"delete {stored.key}")

    def _now(self) -> datetime:
        return self._clock.now()


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
