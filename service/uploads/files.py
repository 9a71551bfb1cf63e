"""The upload files on disk: written a chunk at a time, hashed on the way, removed as a
whole folder when the upload fails. Every function here blocks: call it in a thread."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from service.durable import sync_directory
from service.errors import InsufficientStorage

_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


class UploadFile:
    """One upload being written; size and SHA-256 grow with every chunk."""

    def __init__(self, file_id: uuid.UUID, path: Path, name: str) -> None:
        self.file_id = file_id
        self.path = path
        self.name = name
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._file = None

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def write(self, chunk: bytes | bytearray) -> None:
        """Append `chunk` (unbuffered, so a full disk shows here). Runs in a thread, beside
        `hash` of the same chunk: both release the GIL, so they take the time of one."""
        with self._full_disk_is_507():
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115 (closed by close)
            view = memoryview(chunk)
            while view:
                written = self._file.write(view)
                view = view[written:]
        self.size += len(chunk)

    def hash(self, chunk: bytes | bytearray) -> None:
        """Feed `chunk` to the SHA-256, in upload order. Runs in a thread."""
        self._sha256.update(chunk)

    def close(self, *, sync: bool = False) -> None:
        """Close the file, first forcing it to disk when `sync`. Runs in a thread."""
        if self._file is None:
            return
        try:
            if sync:
                with self._full_disk_is_507():
                    os.fsync(self._file.fileno())
        finally:
            self._file.close()
            self._file = None

    @contextlib.contextmanager
    def _full_disk_is_507(self) -> Iterator[None]:
        """A full disk (or quota) while storing this file is the client's 507."""
        try:
            yield
        except OSError as exc:
            if exc.errno in _NO_ROOM:
                raise InsufficientStorage(
                    f"no disk space left while storing {self.name!r}", file=self.name
                ) from None
            raise


def seal(uploads: list[UploadFile], job_dir: Path) -> None:
    """Make the uploads durable before the log says they exist: each file forced to disk
    and closed, then the folder, so their names survive a power cut too. Runs in a thread."""
    for upload in uploads:
        upload.close(sync=True)
    sync_directory(job_dir)


def free_bytes(directory: Path) -> int:
    """Free space where uploads go (creating the folder). Runs in a thread."""
    directory.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(directory).free


def discard(files: list[UploadFile], job_dir: Path) -> None:
    """Close whatever is open and remove the job's whole upload folder. Runs in a thread."""
    for upload in files:
        with contextlib.suppress(OSError):  # the folder goes anyway
            upload.close()
    shutil.rmtree(job_dir, ignore_errors=True)
