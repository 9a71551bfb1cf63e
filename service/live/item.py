"""What travels to a live stream: a log event (with its resume position) or progress."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from service.events.base import RecordedEvent
from service.events.log_reader import Checkpoint


@dataclass(frozen=True)
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

    @cached_property
    def frame(self) -> bytes:
        """The whole SSE message, built once however many streams send it. `data` is one
        line: JSON from json.dumps never holds a raw newline."""
        head = f"id: {self.id}\r\n" if self.checkpoint is not None else ""
        return f"{head}event: {self.event}\r\ndata: {self.data}\r\n\r\n".encode()


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
