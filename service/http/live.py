"""`GET /api/jobs/{id}/live` and `GET /api/live`: job events as Server-Sent Events.

A stream opens with `event: snapshot` (the job, or the caller's newest jobs, as the job
view shows them, `id:` the log position that reflects) unless it resumes from
`Last-Event-ID` / `?after=`; then every later event of the jobs the caller may see, each
with `id:` its log position, `event:` its type and `data:` the record
`GET /api/jobs/{id}/events` shows. Progress (`event: progress`) carries no id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from pydantic import BaseModel, Field

from service.contract import Raw, declare
from service.events.job import job_id_of, job_stream
from service.events.log_reader import Checkpoint
from service.http import job_presenter
from service.http.auth import require_user
from service.http.job_models import JobPath
from service.http.jobs import visible_job
from service.http.keys import SERVICES
from service.live.audience import Audience
from service.live.hub import LiveHub
from service.live.item import event_item
from service.live.resume import between, parse_position, place_of
from service.live.snapshot import job_snapshot, jobs_snapshot
from service.live.subscriber import Subscriber
from service.metrics import catalogue as metrics
from service.projections.job_state import fold

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

LIVE_HUB = web.AppKey("live_hub", LiveHub)
RETRY_MS = 3000  # the `retry:` hint: how long EventSource waits before reconnecting
SNAPSHOT_JOBS = 100  # /api/live opens with the caller's newest jobs, as one page
LAST_EVENT_ID = "Last-Event-ID"
SEND_BUFFER_BYTES = 64 * 1024
SEND_TIMEOUT_S = 120.0  # as aiohttp-sse's own send timeout

Snapshot = Callable[[], Awaitable[tuple[str, Checkpoint]]]


class ResumeQuery(BaseModel):
    after: str | None = Field(
        default=None,
        pattern="^[0-9]+$",
        description="Resume strictly after this log position (an `id:` this service sent).",
    )


class ResumeHeaders(BaseModel):
    last_event_id: str | None = Field(
        default=None,
        alias="Last-Event-ID",
        pattern="^[0-9]+$",
        description="As EventSource sends it on reconnect; wins over `after`.",
    )


STREAM = Raw(
    "text/event-stream",
    "Server-Sent Events: `snapshot` (unless resuming), then `<event type>` messages with "
    "`id:` = log position and data = the `/events` record, `progress` messages without "
    "an id, and `: ping` heartbeats.",
    {  # one message of the stream (what an EventSource client receives)
        "type": "object",
        "properties": {
            "event": {"type": "string"},
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {"type": "string", "contentMediaType": "application/json"},
            "retry": {"type": "integer"},
        },
    },
    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
)
LIVE_ERRORS = {
    400: "`Last-Event-ID` / `after` is not a log position this service sent.",
    503: "Live streams are not available yet.",
}


async def live_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's one shared log reader for every stream (after the services start)."""
    services = app[SERVICES]
    hub = LiveHub(
        services.database,
        job_presenter.event_record,
        poll_interval_s=services.settings.poll_interval_s,
    )
    task = asyncio.create_task(hub.run(), name=hub.name)
    app[LIVE_HUB] = hub
    try:
        yield
    finally:
        hub.stop()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


async def close_streams(app: web.Application) -> None:
    """On shutdown, before in-flight requests are awaited: end every stream at once."""
    if LIVE_HUB in app:
        app[LIVE_HUB].close_all()


@routes.get("/api/jobs/{job_id}/live")
@declare(
    summary="Watch one job live (Server-Sent Events), resumable",
    tags=["live"],
    path=JobPath,
    query=ResumeQuery,
    headers=ResumeHeaders,
    responses={
        200: STREAM,
        204: None,  # resumed at the end of an expired job: nothing more will come
    },
    errors=LIVE_ERRORS,
)
async def job_live(request: web.Request) -> web.StreamResponse:
    principal = await require_user(request)
    job = await visible_job(request, principal)
    services = request.app[SERVICES]
    after = await _resume_point(request)
    if after is not None:
        history = await services.store.read_stream(job_stream(job.job_id))
        state = fold(history)
        if (
            state is not None
            and state.status == "expired"
            and history[-1].position <= after.position
        ):
            return web.Response(status=204)  # nothing more will ever come: stop retrying

    async def snapshot() -> tuple[str, Checkpoint]:
        state, checkpoint = await job_snapshot(services.database.pool, job.job_id)
        shown = state if state is not None else job
        return json.dumps(job_presenter.detail(shown)), checkpoint

    return await _stream(request, Audience(job_id=job.job_id), after, snapshot)


@routes.get("/api/live")
@declare(
    summary="Watch every job you may see live (Server-Sent Events), resumable",
    tags=["live"],
    query=ResumeQuery,
    headers=ResumeHeaders,
    responses={200: STREAM},
    errors=LIVE_ERRORS,
)
async def all_live(request: web.Request) -> web.StreamResponse:
    principal = await require_user(request)
    services = request.app[SERVICES]
    owner = None if principal.is_admin else principal.user_id
    after = await _resume_point(request)

    async def snapshot() -> tuple[str, Checkpoint]:
        jobs, checkpoint = await jobs_snapshot(services.database.pool, owner, SNAPSHOT_JOBS)
        return json.dumps({"jobs": [job_presenter.detail(j) for j in jobs]}), checkpoint

    return await _stream(request, Audience(owner_id=owner), after, snapshot)


async def _resume_point(request: web.Request) -> Checkpoint | None:
    """Where the client left off, or None for a fresh stream (which gets a snapshot)."""
    if (after := request.query.get("after")) is not None:
        parse_position(after, "after")  # a malformed `after` is refused even if the header wins
    raw, field = request.headers.get(LAST_EVENT_ID), LAST_EVENT_ID
    if raw is None:
        raw, field = request.query.get("after"), "after"
    if raw is None:
        return None
    position = parse_position(raw, field)
    return await place_of(request.app[SERVICES].database.pool, position, field)


async def _stream(
    request: web.Request, audience: Audience, after: Checkpoint | None, snapshot: Snapshot
) -> web.StreamResponse:
    services = request.app[SERVICES]
    hub = request.app[LIVE_HUB]
    response = EventSourceResponse(ping_interval=services.settings.live_heartbeat_s)
    response.headers["Cache-Control"] = "no-store"
    watcher: asyncio.Future[Any] | None = None
    # Registered before anything is read: every event after `until` reaches the inbox.
    subscriber, until = await hub.subscribe(audience)
    metrics.LIVE_STREAMS.inc()
    try:
        await response.prepare(request)
        _bound_send_buffer(request)
        subscriber.on_drop = lambda: _abort(request)
        watcher = asyncio.ensure_future(response.wait())
        watcher.add_done_callback(lambda _: subscriber.close("gone"))
        await response.write(f"retry: {RETRY_MS}\r\n\r\n".encode())
        if after is None:
            data, mine = await snapshot()
            await _send(response, subscriber, data, str(mine.position), "snapshot")
        else:
            mine = after
        pool = services.database.pool
        async for recorded in between(pool, audience, mine, until, hub.owners):
            job_id = job_id_of(recorded.stream_id)
            assert job_id is not None  # `between` yields job events only
            item = event_item(recorded, job_id, hub.owners.get(job_id), job_presenter.event_record)
            await _send(response, subscriber, item.data, item.id, item.event)
        mine = max(mine, until)
        while (items := await subscriber.batch()) is not None:
            frames = []
            for item in items:
                if item.checkpoint is not None:
                    if item.checkpoint <= mine:
                        continue  # already sent by the catch-up read
                    mine = item.checkpoint
                frames.append(item.frame)
            if frames:
                await _write(response, subscriber, b"".join(frames))
    except (ConnectionError, TimeoutError):
        pass  # the client went away or stalled: it resumes from its last id
    finally:
        metrics.LIVE_STREAMS.dec()
        hub.unsubscribe(subscriber)
        if watcher is not None:
            watcher.cancel()
        if response.prepared:
            response.stop_streaming()
    if subscriber.closed == "overflow":
        log.info("dropped a live stream that stopped reading", extra={"action": "live.dropped"})
    return response


async def _send(
    response: EventSourceResponse, subscriber: Subscriber, data: str, id: str | None, event: str
) -> None:
    subscriber.sending = True  # a shutdown cuts a stream stuck here instead of waiting
    try:
        await response.send(data, id=id, event=event)
    finally:
        subscriber.sending = False


async def _write(response: EventSourceResponse, subscriber: Subscriber, frames: bytes) -> None:
    """Ready-made SSE messages in one write; a client stalled for SEND_TIMEOUT_S is cut."""
    subscriber.sending = True
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await response.write(frames)
    except TimeoutError:
        subscriber.close("stalled")
        if subscriber.on_drop is not None:
            subscriber.on_drop()
        raise
    finally:
        subscriber.sending = False


def _bound_send_buffer(request: web.Request) -> None:
    """A fixed kernel send buffer (no autotuning up to megabytes): with the inbox and the
    transport's buffer, what a stalled client can cost is bounded."""
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)


def _abort(request: web.Request) -> None:
    """Cut the connection: a handler stuck writing to a stalled client returns at once."""
    if request.transport is not None:
        request.transport.abort()
