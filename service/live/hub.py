"""The one reader of the log per process that feeds every live stream.

It follows the log in commit order (the same reader as every subscriber) from where it
started, woken by a NOTIFY or the poll interval, decodes and encodes each event once and
offers it to the streams whose audience admits it. A NOTIFY only wakes it: the data
always comes from the log, so no stream can see an event the log does not hold in that
order. With no stream open it just keeps its place at the log's head.

Render progress arrives on its own channel (`vr_progress`) from any worker process and
is handed out as it comes, without an id: it is not in the log and never moves a
stream's resume position.

A stream registers first (`subscribe` returns the hub's place at that moment), then
reads from the log itself what lies between its own resume point and that place; every
later event reaches it through its inbox. Both reads follow one total order, so a
stream drops what it has already sent by comparing checkpoints: nothing lost, nothing
repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

import asyncpg

from service.db.database import Database
from service.errors import LiveUnavailable
from service.events.base import RecordedEvent
from service.events.job import job_id_of
from service.events.log_reader import Checkpoint, head, read_page
from service.events.notify import listen, wait_for_wake
from service.live.audience import Audience
from service.live.item import EventRecord, LiveItem, event_item
from service.live.owners import Owners
from service.live.subscriber import Subscriber
from service.processing.progress import CHANNEL as PROGRESS_CHANNEL

log = logging.getLogger(__name__)

PAGE_EVENTS = 1000  # events per read: one page covers seconds of a busy log
RECONNECT_DELAY_S = 1.0
START_TIMEOUT_S = 5.0  # a stream waits this long for the reader's first place, then 503


class LiveHub:
    """Owns the shared reader and the open streams of this process."""

    name = "live_hub"

    def __init__(
        self, database: Database, record: EventRecord, *, poll_interval_s: float = 1.0
    ) -> None:
        self._database = database
        self._record = record
        self._poll_interval_s = poll_interval_s
        self.owners = Owners()
        self.checkpoint: Checkpoint | None = None  # None until the reader has started
        self._started = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = False
        self._subscribers: set[Subscriber] = set()
        # Indexes for the fan-out: one job's streams; one owner's (None: admins, all jobs).
        self._by_job: dict[uuid.UUID | None, set[Subscriber]] = {}
        self._by_owner: dict[uuid.UUID | None, set[Subscriber]] = {}

    # --- streams -----------------------------------------------------------------------

    async def subscribe(self, audience: Audience) -> tuple[Subscriber, Checkpoint]:
        """Register a stream; every event after the returned place reaches its inbox."""
        try:
            await asyncio.wait_for(self._started.wait(), START_TIMEOUT_S)
        except TimeoutError:
            raise LiveUnavailable() from None
        subscriber = Subscriber(audience)
        self._subscribers.add(subscriber)
        self._index_of(audience).setdefault(_key(audience), set()).add(subscriber)
        assert self.checkpoint is not None
        return subscriber, self.checkpoint

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        index, key = self._index_of(subscriber.audience), _key(subscriber.audience)
        same = index.get(key)
        if same is not None:
            same.discard(subscriber)
            if not same:
                del index[key]

    def publish(self, item: LiveItem) -> None:
        """Offer an item to every stream that may see it (events and progress alike)."""
        for subscriber in self._audience(item.job_id, item.owner_id):
            subscriber.offer(item)

    def _index_of(self, audience: Audience) -> dict[uuid.UUID | None, set[Subscriber]]:
        return self._by_job if audience.job_id is not None else self._by_owner

    def _audience(self, job_id: uuid.UUID, owner: uuid.UUID | None) -> list[Subscriber]:
        """The streams that may see this job's messages: its own, its owner's, admins'.
        Each stream sits in one index under one key, so none is counted twice."""
        found = [*self._by_job.get(job_id, ()), *self._by_owner.get(None, ())]
        if owner is not None:
            found += self._by_owner.get(owner, ())
        return found

    def close_all(self) -> None:
        """End every stream now (shutdown); clients reconnect and resume elsewhere."""
        for subscriber in list(self._subscribers):
            subscriber.close("shutdown")
            if subscriber.sending and subscriber.on_drop is not None:
                subscriber.on_drop()  # stuck writing to a client that does not read
        self._subscribers.clear()
        self._by_job.clear()
        self._by_owner.clear()

    @property
    def streams(self) -> int:
        return len(self._subscribers)

    # --- the reader --------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self.close_all()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                conn = await self._database.connect()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("live hub cannot connect: %s", exc, extra={"action": "live.connect"})
                await wait_for_wake(self._wake, RECONNECT_DELAY_S)
                continue
            try:
                await listen(conn, self._wake)
                await conn.add_listener(PROGRESS_CHANNEL, self._on_progress)
                if self.checkpoint is None:
                    self.checkpoint = await head(conn)
                    self._started.set()
                while not self._stopping and not conn.is_closed():
                    await self._advance(conn)
                    await wait_for_wake(self._wake, self._poll_interval_s)
            except Exception:
                log.exception("live hub failed; reconnecting", extra={"action": "live.failed"})
                await wait_for_wake(self._wake, RECONNECT_DELAY_S)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))

    async def _advance(self, conn: asyncpg.Connection) -> None:
        """Read and hand out everything committed since the last call."""
        assert self.checkpoint is not None
        while not self._stopping:
            if not self._subscribers:
                # Nobody listens: keep the place at the head without decoding anything,
                # unless a stream registered meanwhile (it counts on every later event).
                at = await head(conn)
                if not self._subscribers:
                    self.checkpoint = max(self.checkpoint, at)
                return
            page = await read_page(conn, self.checkpoint, PAGE_EVENTS)
            if not page:
                return
            await self.owners.load_for(conn, page)
            for recorded in page:  # no await from here on: registration sees a whole page
                self._dispatch(recorded)
            self.checkpoint = Checkpoint.of(page[-1])
            if len(page) < PAGE_EVENTS:
                return

    def _on_progress(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        """A worker's progress (any process): straight to the streams, never the log."""
        try:
            message = json.loads(payload)
            progress = message["progress"]
            job_id = uuid.UUID(progress["job_id"])
            owner_id = uuid.UUID(message["owner_id"])
        except (ValueError, KeyError, TypeError):
            log.warning(
                "ignoring a malformed progress message", extra={"action": "live.bad_progress"}
            )
            return
        self.owners.remember(job_id, owner_id)
        data = json.dumps(progress, separators=(",", ":"))
        self.publish(LiveItem(job_id=job_id, owner_id=owner_id, event="progress", data=data))

    def _dispatch(self, recorded: RecordedEvent) -> None:
        job_id = job_id_of(recorded.stream_id)
        if job_id is None:
            return
        owner = self.owners.get(job_id)
        targets = self._audience(job_id, owner)
        if not targets:
            return  # encode only what someone will send
        item = event_item(recorded, job_id, owner, self._record)
        for subscriber in targets:
            subscriber.offer(item)


def _key(audience: Audience) -> uuid.UUID | None:
    return audience.job_id if audience.job_id is not None else audience.owner_id
