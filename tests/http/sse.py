"""Read Server-Sent Events as a browser's EventSource does (an independent parser)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Message:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class SSEReader:
    """Messages from an aiohttp client response, one at a time."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.comments: list[str] = []
        self.retry: int | None = None

    async def next(self, within: float = 10.0) -> Message:
        """The next message with data (comments and retry-only blocks are recorded)."""
        async with asyncio.timeout(within):
            while True:
                message = await self._block()
                if message is None:
                    raise EOFError("the stream ended")
                if message.data or message.event != "message":
                    return message

    async def _block(self) -> Message | None:
        message = Message()
        data: list[str] = []
        seen = False
        while True:
            raw = await self.response.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if seen:
                    message.data = "\n".join(data)
                    return message
                continue
            seen = True
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                data.append(value)
            elif name == "event":
                message.event = value
            elif name == "id":
                message.id = value
            elif name == "retry":
                message.retry = self.retry = int(value)

    async def take(self, count: int, within: float = 10.0) -> list[Message]:
        return [await self.next(within) for _ in range(count)]

    async def until(self, event: str, within: float = 10.0) -> list[Message]:
        """Messages up to and including the first of type `event`."""
        seen = []
        while True:
            message = await self.next(within)
            seen.append(message)
            if message.event == event:
                return seen
