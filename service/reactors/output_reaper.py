"""The output reaper: once a job has expired, its rendered files are deleted."""

from __future__ import annotations

from service.events.base import Event, RecordedEvent
from service.events.job import Expired, OutputsDeleted
from service.projections.job_state import JobState
from service.reactors.deletion import RecordedFile
from service.storage.keys import OUTPUTS, job_prefix

NAME = "output_reaper"

_OWED = """
SELECT job_id FROM job_view
WHERE status = 'expired' AND state->>'outputs_deleted' = 'false'
ORDER BY created_at, job_id
LIMIT $1
"""


class OutputReap:
    """`Expired` → delete `outputs/<job>/` → `OutputsDeleted`."""

    name = NAME
    cause_type = Expired.TYPE
    purpose = "outputs-deleted"
    sweep_sql = _OWED

    def sweeps(self, state: JobState) -> list[tuple[str, frozenset[str]]]:
        return [(job_prefix(OUTPUTS, state.job_id), frozenset())]

    def is_done(self, state: JobState) -> bool:
        return state.outputs_deleted

    def files(self, state: JobState) -> list[RecordedFile]:
        return [RecordedFile(o.key, o.size) for o in state.outputs] + [
            RecordedFile(t.key, t.size) for t in state.thumbnails()
        ]

    def answer(self, state: JobState, cause: RecordedEvent, refused: set[str]) -> Event:
        """Sizes as rendered and the expiry's time: the same on every retry."""
        assert isinstance(cause.event, Expired)
        deleted = [o for o in state.outputs if o.key not in refused]
        return OutputsDeleted(
            job_id=state.job_id,
            files=len(deleted),
            bytes_freed=sum(o.size for o in deleted),
            deleted_at=cause.event.expired_at,
        )
