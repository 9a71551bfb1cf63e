"""The bytes of resumable uploads: `uploads/tus/<upload-id>`, a name we choose.

Every function here blocks (open, lock, write, fsync, link, unlink): call it in a thread.
A PATCH holds an exclusive `flock` on the file while it writes, so two requests, in one
process or in two, never write the same upload at once; the kernel drops the lock when
its holder dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from service.durable import sync_directory
from service.errors import InsufficientStorage, NotFound, UploadLocked

READ_BYTES = 2**20  # re-hashing after a restart reads this much at a time
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _full_disk_is_507(name: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_ROOM:
            raise InsufficientStorage(
                f"no disk space left while storing {name!r}", file=name
            ) from None
        raise


def create(path: Path) -> None:
    """An empty file for a new upload, its name made durable (the folder fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb"):
        pass
    sync_directory(path.parent)


class PatchTarget:
    """One PATCH's open, locked upload file."""

    def __init__(self, path: Path) -> None:
        """Open and lock `path`: 404 if it is gone, 423 if another request holds it."""
        self.name = path.name
        self.position = 0
        try:
            self.fd = os.open(path, os.O_RDWR)  # never O_CREAT: a deleted upload stays gone
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.size = os.fstat(self.fd).st_size  # under the lock: nobody else writes it
        except BlockingIOError:
            os.close(self.fd)
            raise UploadLocked() from None

    def needs_cut(self, offset: int) -> bool:
        """Whether the file is not exactly `offset` long, so `prepare` has work to do; if it
        is, writing starts there with no call (and no thread hop) at all."""
        if self.size == offset:
            self.position = offset
            return False
        return True

    def prepare(self, offset: int) -> None:
        """Cut anything past the recorded `offset` (bytes a crashed or failed PATCH wrote
        but never recorded) and write from there. Only under the lock, with the offset
        read under it."""
        if self.size < offset:
            raise OSError(errno.EIO, f"upload file shorter ({self.size}) than its offset {offset}")
        self.truncate(offset)

    def write(self, chunk: bytes | bytearray) -> None:
        """Append `chunk` at the position. Runs in a thread beside the hash of the same
        chunk. (No writeback hint per chunk: `sync_file_range` after each 1 MiB shortened
        the final fsync but slowed every write more, measured on this service's disk.)"""
        with _full_disk_is_507(self.name):
            view = memoryview(chunk)
            at = self.position
            while view:
                written = os.pwrite(self.fd, view, at)
                view, at = view[written:], at + written
        self.position += len(chunk)

    def sync(self) -> None:
        """Force what was written to disk, with the length that reaches it (fdatasync:
        the timestamps need not wait): only then may the offset name it."""
        with _full_disk_is_507(self.name):
            os.fdatasync(self.fd)

    def truncate(self, offset: int) -> None:
        """Drop a discarded chunk (a checksum mismatch) before the next PATCH."""
        os.ftruncate(self.fd, offset)
        self.size = self.position = offset

    def close(self) -> None:
        """Close the file, which releases the lock."""
        os.close(self.fd)


def read_head(path: Path, size: int) -> bytes:
    """The first `size` bytes (fewer if the file is shorter)."""
    with open(path, "rb") as f:
        return f.read(size)


def rehash(path: Path, length: int) -> hashlib._Hash:
    """SHA-256 of the first `length` bytes: what a process that did not receive them (a
    restart, another instance) needs before it can continue the running hash."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        left = length
        while left > 0:
            chunk = f.read(min(READ_BYTES, left))
            if not chunk:
                raise OSError(errno.EIO, f"upload file shorter than its offset {length}")
            hasher.update(chunk)
            left -= len(chunk)
    return hasher


def remove(path: Path) -> None:
    """Delete an upload's bytes; already gone counts as deleted."""
    path.unlink(missing_ok=True)


def stage(path: Path) -> Path:
    """A second name for a finished upload's bytes (a hard link, no copy), for the store
    to consume: the disk store renames it into the job's folder, a bucket uploads it. The
    tus name stays until the job is committed, so a failure leaves the upload whole."""
    staged = path.with_name(f"{path.name}.{uuid.uuid4().hex}.staged")
    os.link(path, staged)
    return staged


def unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
