"""Read a child's stderr to the end while keeping only its last lines, so a chatty or
hostile input can never grow our memory."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

CHUNK_BYTES = 64 * 1024
"""Read size; chunks, not readline, because a line may be longer than any reader limit."""
MAX_LINE_CHARS = 1000
"""A longer line is cut here: ffmpeg's useful lines are short."""


class StderrTail:
    """The last `max_lines` lines of a stream; `on_line` sees every line as it passes."""

    def __init__(self, max_lines: int = 10, on_line: Callable[[str], None] | None = None) -> None:
        self.lines: deque[str] = deque(maxlen=max_lines)
        self._on_line = on_line
        self._partial = bytearray()

    async def collect(self, stream: asyncio.StreamReader) -> None:
        """Consume `stream` until EOF."""
        while chunk := await stream.read(CHUNK_BYTES):
            self.feed(chunk)
        self.close()

    def feed(self, chunk: bytes) -> None:
        # ffmpeg ends progress lines with \r; treat it like \n.
        parts = chunk.replace(b"\r", b"\n").split(b"\n")
        for part in parts[:-1]:
            self._partial += part[: MAX_LINE_CHARS * 4]
            self._emit()
        room = MAX_LINE_CHARS * 4 - len(self._partial)
        if room > 0:
            self._partial += parts[-1][:room]

    def close(self) -> None:
        if self._partial:
            self._emit()

    def text(self, max_chars: int = 2000) -> str:
        """The kept lines, joined; the oldest characters go first when over `max_chars`."""
        joined = "\n".join(self.lines)
        return joined if len(joined) <= max_chars else "…" + joined[-(max_chars - 1) :]

    def _emit(self) -> None:
        line = self._partial.decode("utf-8", "replace").rstrip()[:MAX_LINE_CHARS]
        self._partial.clear()
        if not line:
            return
        self.lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
