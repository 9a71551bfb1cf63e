"""The upload purger: once a job's processing has finished, its uploads are deleted, and
so is every output object the log does not record (a dead attempt's unrecorded render:
no attempt can record one after `ProcessingFinished`).

Uploads are never touched before `ProcessingFinished` is in the log: the only triggers
are that event and a sweep of jobs whose view shows an outcome.
"""

from __future__ import annotations

from service.events.base import Event, RecordedEvent
from service.events.job import ProcessingFinished, PurgedFile, UploadsPurged
from service.projections.job_state import JobState
from service.reactors.deletion import RecordedFile
from service.storage.keys import OUTPUTS, UPLOADS, job_prefix

NAME = "upload_purger"

_OWED = """
SELECT job_id FROM job_view
WHERE state->>'outcome' IS NOT NULL AND state->>'uploads_purged' = 'false'
ORDER BY created_at, job_id
LIMIT $1
"""


class UploadPurge:
    """`ProcessingFinished` → delete `uploads/<job>/` → `UploadsPurged`."""

    name = NAME
    cause_type = ProcessingFinished.TYPE
    purpose = "uploads-purged"
    sweep_sql = _OWED

    def sweeps(self, state: JobState) -> list[tuple[str, frozenset[str]]]:
        return [
            (job_prefix(UPLOADS, state.job_id), frozenset()),
            (
                job_prefix(OUTPUTS, state.job_id),
                frozenset(o.key for o in state.outputs) | {t.key for t in state.thumbnails()},
            ),
        ]

    def is_done(self, state: JobState) -> bool:
        return state.uploads_purged

    def files(self, state: JobState) -> list[RecordedFile]:
        return [RecordedFile(f.upload_key, f.size) for f in state.files]

    def answer(self, state: JobState, cause: RecordedEvent, refused: set[str]) -> Event:
        """Sizes as recorded at intake and the cause's time: the same on every retry."""
        assert isinstance(cause.event, ProcessingFinished)
        purged = tuple(
            PurgedFile(file_id=f.file_id, key=f.upload_key, bytes=f.size)
            for f in state.files
            if f.upload_key not in refused
        )
        return UploadsPurged(
            job_id=state.job_id,
            files=purged,
            bytes_freed=sum(p.bytes for p in purged),
            purged_at=cause.event.finished_at,
        )
