"""Live-stream test plumbing: open a stream, append a job's events by hand."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from service.events.base import Event
from service.events.job import job_stream
from service.events.store import ANY, NO_STREAM, AppendResult
from service.http.keys import SERVICES
from tests import builders
from tests.http.sse import SSEReader


@contextlib.asynccontextmanager
async def stream(
    client: Any, path: str, headers: dict[str, str], **extra: str
) -> AsyncIterator[SSEReader]:
    response = await client.get(path, headers={**headers, **extra})
    assert response.status == 200, await response.text()
    try:
        yield SSEReader(response)
    finally:
        response.close()


async def append(client: Any, *events: Event) -> AppendResult:
    """Append one job's events (in one transaction each call) as a component would."""
    store = client.app[SERVICES].store
    stream_id = job_stream(events[0].job_id)  # type: ignore[attr-defined]
    expected = NO_STREAM if await store.stream_version(stream_id) == 0 else ANY
    return await store.append(stream_id, [builders.new(e) for e in events], expected)


async def new_job(client: Any, owner: uuid.UUID, **kwargs: Any) -> uuid.UUID:
    """A received job the job view already shows (so GET and the snapshot see it)."""
    clock = client.app[SERVICES].clock
    upload = builders.upload_received(owner_id=owner, received_at=clock.now(), **kwargs)
    result = await append(client, upload)
    assert await client.app[SERVICES].job_view_waiter.wait_for(result, 5)
    return upload.job_id


async def records(client: Any, job_id: uuid.UUID, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"/api/jobs/{job_id}/events", headers=headers)
    return (await response.json())["events"]  # type: ignore[no-any-return]
