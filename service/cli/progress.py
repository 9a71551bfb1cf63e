"""Progress of a long command on a terminal: done of total, rate and time left.

One line rewritten in place on stderr, at most a few times a second; nothing at all when
stderr is not a terminal, so logs and pipes stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_S = 0.2  # often enough to look alive, rarely enough to cost nothing


def progress_line(label: str, done: int, total: int, elapsed_s: float) -> str:
    """`label: 120,000/200,000 events (60%)  31,000 events/s  ETA 3 s`."""
    total = max(total, done)
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    percent = f" ({done * 100 // total}%)" if total else ""
    eta = f"ETA {(total - done) / rate:.0f} s" if rate > 0 else "ETA -"
    return f"{label}: {done:,}/{total:,} events{percent}  {rate:,.0f} events/s  {eta}"


class TerminalProgress:
    """A progress callback `(done, total)` that redraws one line on a terminal."""

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._latest: tuple[int, int] | None = None
        self._last = ""
        self.enabled = self._stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        self._latest = (done, total)
        now = self._clock()
        if self.enabled and (self._drawn_at is None or now - self._drawn_at >= REDRAW_S):
            self._draw(now)

    def finish(self) -> None:
        """Draw the final figures and end the line, so what follows starts on its own."""
        if self.enabled and self._latest is not None:
            self._draw(self._clock())
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, now: float) -> None:
        assert self._latest is not None
        self._drawn_at = now
        line = progress_line(self._label, *self._latest, now - self._started)
        self._stream.write("\r" + line.ljust(len(self._last)))
        self._stream.flush()
        self._last = line
