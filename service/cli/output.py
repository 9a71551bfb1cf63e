"""What report commands write: answers on stdout, no INFO logs mixed in, and a quiet stop
when the reader of a pipe (`| head`) goes away."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


def quiet_logs() -> None:
    """Reports are read by people and tools: keep INFO logs out, warnings still show."""
    root = logging.getLogger()
    root.setLevel(max(root.level, logging.WARNING))


@contextlib.contextmanager
def stdout_may_close() -> Iterator[None]:
    """Treat a closed stdout as the reader having seen enough, not as an error.

    Python would also complain when flushing stdout at exit, so it is pointed at
    /dev/null once the pipe is gone.
    """
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
