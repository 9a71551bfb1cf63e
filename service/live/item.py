"""What travels to a live stream: a log event (with its resume position) or progress."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.events.base import RecordedEvent
from service.events.log_reader import Checkpoint


@dataclass(frozen=True, slots=True)
class LiveItem:
    """One SSE message, encoded once and shared by every stream that sends it.

    `checkpoint` is None for progress: it carries no `id:`, so it never moves the
    client's resume position."""

    job_id: uuid.UUID
    owner_id: uuid.UUID | None
    event: str
    data: str
    checkpoint: Checkpoint | None = None

    @property
    def id(self) -> str | None:
        return str(self.checkpoint.position) if self.checkpoint is not None else None


EventRecord = Callable[[RecordedEvent], dict[str, Any]]
"""How the API shows one event (`GET /api/jobs/{id}/events`): the stream sends the same."""


def event_item(
    recorded: RecordedEvent, job_id: uuid.UUID, owner_id: uuid.UUID | None, record: EventRecord
) -> LiveItem:
    return LiveItem(
        job_id=job_id,
        owner_id=owner_id,
        event=recorded.type,
        data=json.dumps(record(recorded), separators=(",", ":")),
        checkpoint=Checkpoint.of(recorded),
    )
