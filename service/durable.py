"""Forcing files to disk: what a power cut may not take back once the log names a file."""

from __future__ import annotations

import os
from pathlib import Path


def sync_directory(directory: Path) -> None:
    """fsync a folder: what makes a new or renamed entry in it durable. Blocking: call it
    in a thread."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
