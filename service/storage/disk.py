"""The local-disk backend: objects are files under the data directory, named by key.

Writes go to a temporary name beside the target (a `~` name no key can take), are
fsynced, then renamed and the folder fsynced: an object appears whole or not at all,
and only once a power cut cannot take it back. The ETag is the file's identity (inode,
mtime, size), so a file replaced behind the service's back has another one.
Every blocking step runs in a thread; `local_path` lets the download use sendfile.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import AsyncIterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from service.durable import sync_directory
from service.errors import (
    InsufficientStorage,
    InvalidObjectKey,
    ObjectChanged,
    ObjectNotFound,
    StorageUnavailable,
)
from service.storage.interface import StoredObject
from service.storage.keys import check_key

_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
COPY_CHUNK_BYTES = 1024 * 1024


def disk_etag(stat: os.stat_result) -> str:
    return f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'


class DiskStorage:
    """Objects as files under `root` (the data directory)."""

    kind = "disk"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self.path_of(key)

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        """Each chunk is written in a thread while the next one is produced."""
        target = self.path_of(key)
        temp = await asyncio.to_thread(_open_temp, target)
        try:
            iterator = aiter(chunks)
            pending: asyncio.Future[None] | None = None
            while True:
                try:
                    chunk = await anext(iterator)
                except StopAsyncIteration:
                    break
                finally:
                    if pending is not None:
                        await asyncio.shield(pending)  # a cancelled put still waits for it
                        pending = None
                pending = asyncio.ensure_future(asyncio.to_thread(_write_all, temp, chunk))
            if pending is not None:
                await asyncio.shield(pending)
            return await asyncio.to_thread(_seal, temp, target, key)
        except BaseException:
            dropping = asyncio.to_thread(_drop, temp, self.root)
            await asyncio.shield(asyncio.ensure_future(dropping))
            raise

    async def put_file(self, key: str, path: Path) -> StoredObject:
        return await asyncio.to_thread(_move_in, path, self.path_of(key), key)

    async def get_range(self, key: str, start: int, end: int, *, if_match: str) -> bytes:
        return await asyncio.to_thread(_read_range, self.path_of(key), key, start, end, if_match)

    async def fetch_to_file(self, key: str, target: Path, *, if_match: str | None) -> int:
        return await asyncio.to_thread(_copy_out, self.path_of(key), key, target, if_match)

    async def head(self, key: str) -> StoredObject:
        return await asyncio.to_thread(_head, self.path_of(key), key)

    async def delete(self, keys: Sequence[str]) -> None:
        paths = [self.path_of(key) for key in keys]
        await asyncio.to_thread(_delete, self.root, paths)

    async def list(self, prefix: str) -> list[StoredObject]:
        return await asyncio.to_thread(_list, self.root, prefix)

    async def check(self) -> None:
        if not await asyncio.to_thread(os.access, self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"{self.root} is not a writable folder")

    async def close(self) -> None:
        return None


# --- blocking helpers: each runs in a thread -------------------------------------------


@contextlib.contextmanager
def _full_disk_is_507() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _NO_ROOM:
            raise InsufficientStorage("no disk space left for the object") from None
        raise


def _temp_path(target: Path) -> Path:
    return target.with_name(f"~{target.name}.{uuid.uuid4().hex}.partial")


def _open_temp(target: Path) -> IO[bytes]:
    with _full_disk_is_507():
        target.parent.mkdir(parents=True, exist_ok=True)
        return open(_temp_path(target), "xb", buffering=0)


def _write_all(file: IO[bytes], chunk: bytes) -> None:
    view = memoryview(chunk)
    with _full_disk_is_507():
        while view:
            view = view[file.write(view) :]


def _seal(temp: IO[bytes], target: Path, key: str) -> StoredObject:
    """fsync, close, rename into place, fsync the folder."""
    with _full_disk_is_507():
        os.fsync(temp.fileno())
        temp.close()
        os.replace(temp.name, target)
        sync_directory(target.parent)
    return _head(target, key)


def _drop(temp: IO[bytes], root: Path) -> None:
    """Remove a failed write's temporary file, and its folders if that left them empty."""
    with contextlib.suppress(OSError):
        temp.close()
    with contextlib.suppress(OSError):
        os.unlink(temp.name)
    _prune(Path(str(temp.name)).parent, root)


def _prune(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents while they are empty, below the top-level folders
    (`uploads/`, `outputs/`), which stay."""
    while folder.parent != root and folder.is_relative_to(root) and folder != root:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or already gone with a sibling): stop climbing
        folder = folder.parent


def _move_in(source: Path, target: Path, key: str) -> StoredObject:
    """Rename the (fsynced) file into place; copy it when it lies on another volume."""
    with _full_disk_is_507():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(source, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            temp = _temp_path(target)
            shutil.copyfile(source, temp)
            with open(temp, "rb+") as copied:
                os.fsync(copied.fileno())
            os.replace(temp, target)
            source.unlink()
        sync_directory(target.parent)
    return _head(target, key)


def _head(path: Path, key: str) -> StoredObject:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ObjectNotFound(key) from None
    return StoredObject(key, stat.st_size, disk_etag(stat))


def _open_checked(path: Path, key: str, if_match: str | None) -> IO[bytes]:
    try:
        file = open(path, "rb")  # noqa: SIM115 (the caller closes it)
    except FileNotFoundError:
        raise ObjectNotFound(key) from None
    if if_match is not None and disk_etag(os.fstat(file.fileno())) != if_match:
        file.close()
        raise ObjectChanged(key, if_match)
    return file


def _read_range(path: Path, key: str, start: int, end: int, if_match: str) -> bytes:
    with _open_checked(path, key, if_match) as file:
        data = os.pread(file.fileno(), end - start, start)
    if len(data) != end - start:
        raise ObjectChanged(key, if_match)
    return data


def _copy_out(path: Path, key: str, target: Path, if_match: str | None) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open_checked(path, key, if_match) as source, open(target, "xb") as sink:
        shutil.copyfileobj(source, sink, COPY_CHUNK_BYTES)
        return sink.tell()


def _delete(root: Path, paths: list[Path]) -> None:
    """Unlink each file, then every folder left empty up to `root`. A key whose folders
    lead out of its top folder (`uploads/`, `outputs/`) through a symlink is refused
    (InvalidObjectKey), never followed."""
    folders = set()
    for path in paths:
        key = path.relative_to(root)
        top = (root / key.parts[0]).resolve()
        if len(key.parts) < 2 or not (path.parent.resolve() / path.name).is_relative_to(top):
            raise InvalidObjectKey(key.as_posix())
        path.unlink(missing_ok=True)
        folders.add(path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        _prune(folder, root)


def _list(root: Path, prefix: str) -> list[StoredObject]:
    """Objects under `prefix`; temporary `~` files of writes in flight are not objects."""
    base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    start = root / base if base else root
    found = []
    for folder, _, names in os.walk(start):
        for name in names:
            path = Path(folder) / name
            key = path.relative_to(root).as_posix()
            if name.startswith("~") or not key.startswith(prefix):
                continue
            with contextlib.suppress(FileNotFoundError):
                found.append(StoredObject(key, path.stat().st_size, disk_etag(path.stat())))
    return sorted(found, key=lambda o: o.key)
