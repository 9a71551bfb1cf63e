"""One live stream's inbox: bounded, so a client that stops reading costs a fixed amount
of memory and is then dropped (it reconnects and resumes from its last id)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from service.live.audience import Audience
from service.live.item import LiveItem

BUFFER_ITEMS = 256
"""Messages a stream may fall behind by before it is dropped: a few seconds of a busy
log for a page of jobs, and at ~1 KiB each a bounded 256 KiB per stream."""


class Subscriber:
    """Items offered by the hub, taken in order by the stream's handler."""

    def __init__(self, audience: Audience, *, limit: int = BUFFER_ITEMS) -> None:
        self.audience = audience
        self._limit = limit
        self._items: deque[LiveItem] = deque()
        self._ready = asyncio.Event()
        self.closed: str | None = None  # why: "overflow", "shutdown", "gone"
        self.on_drop: Callable[[], None] | None = None  # cuts the connection
        self.sending = False  # the handler is writing to the client right now

    def offer(self, item: LiveItem) -> None:
        """Called by the hub, never blocks: a full inbox drops the stream instead."""
        if self.closed is not None:
            return
        if len(self._items) >= self._limit:
            self.close("overflow")
            if self.on_drop is not None:
                self.on_drop()  # unblocks a handler stuck writing to the stalled client
            return
        self._items.append(item)
        self._ready.set()

    def close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
        self._ready.set()

    async def batch(self) -> list[LiveItem] | None:
        """Every item waiting (at least one), or None once the stream is closed (items
        left are not sent). Sending them in one write costs one syscall, not one each."""
        while True:
            if self.closed is not None:
                return None
            if self._items:
                items = list(self._items)
                self._items.clear()
                return items
            self._ready.clear()
            await self._ready.wait()
