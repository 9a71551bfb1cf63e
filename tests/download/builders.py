"""Builders for archive tests: files on disk with recorded size, CRC and time, the same
files through zipstream-ng's own sized stream, and a file-like view of a plan for zipfile."""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from zipstream import ZipStream

from service.download.archive import ArchiveEntry, ArchivePlan, iter_range

MODIFIED_AT = datetime(2024, 5, 6, 7, 8, 10, tzinfo=UTC)


def write_entry(directory: Path, name: str, data: bytes) -> ArchiveEntry:
    """A file holding `data`, pinned to what the plan records (mode 0644, MODIFIED_AT)."""
    path = directory / f"file-{zlib.crc32(name.encode()):08x}"
    path.write_bytes(data)
    return _pinned(ArchiveEntry(name, path, len(data), zlib.crc32(data), MODIFIED_AT))


def sparse_entry(directory: Path, name: str, size: int) -> ArchiveEntry:
    """A sparse file of `size` zero bytes: big archives without big disks."""
    path = directory / f"sparse-{zlib.crc32(name.encode()):08x}"
    with path.open("wb") as file:
        file.truncate(size)
    return _pinned(ArchiveEntry(name, path, size, zeros_crc32(size), MODIFIED_AT))


def zeros_crc32(size: int) -> int:
    """CRC-32 of `size` zero bytes, without reading any file."""
    block = bytes(1 << 22)
    crc = 0
    for _ in range(size // len(block)):
        crc = zlib.crc32(block, crc)
    return zlib.crc32(block[: size % len(block)], crc)


def library_stream(entries: Sequence[ArchiveEntry]) -> ZipStream:
    """zipstream-ng's own sized stream of the same files under the same names."""
    stream = ZipStream(sized=True)
    for entry in entries:
        stream.add_path(entry.path, entry.name)
    return stream


def plan_bytes(plan: ArchivePlan, start: int = 0, end: int | None = None, **kwargs) -> bytes:
    return b"".join(iter_range(plan, start, plan.size if end is None else end, **kwargs))


class PlanReader(io.RawIOBase):
    """A seekable read-only file over a plan, served by `iter_range`: zipfile reads the
    archive through ranges, as a client resuming downloads would."""

    def __init__(self, plan: ArchivePlan) -> None:
        self.plan = plan
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.plan.size}
        self.position = base[whence] + offset
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        end = min(self.position + len(buffer), self.plan.size)
        data = plan_bytes(self.plan, min(self.position, end), end)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def _pinned(entry: ArchiveEntry) -> ArchiveEntry:
    """Give the file the mode and mtime that zipstream-ng's add_path will record."""
    os.chmod(entry.path, 0o644)
    timestamp = entry.modified_at.timestamp()
    os.utime(entry.path, (timestamp, timestamp))
    return entry
