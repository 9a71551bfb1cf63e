"""The one storage interface intake, worker, download, reactors and audit use.

Both backends pass the same contract tests (tests/storage/test_contract.py). Objects are
written whole or not at all (a reader never sees half an object), and every stored
object has an ETag that changes when it is replaced, so a reader that names the ETag it
expects (`if_match`) can never mix bytes of two versions.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object as the store reports it; `etag` is quoted as in HTTP."""

    key: str
    size: int
    etag: str


class ObjectStorage(Protocol):
    """Uploads and outputs by key. Every method is async and never blocks the loop."""

    kind: str  # "disk" or "s3": reported in /readyz

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        """Store the chunks as one object, in constant memory; durable when it returns."""
        ...

    async def put_file(self, key: str, path: Path) -> StoredObject:
        """Store a local file's bytes under `key`. The file is consumed: it may be moved."""
        ...

    async def get_range(self, key: str, start: int, end: int, *, if_match: str) -> bytes:
        """Bytes [start, end) of the object; ObjectChanged if its ETag is not `if_match`."""
        ...

    async def fetch_to_file(self, key: str, target: Path, *, if_match: str | None) -> int:
        """Stream the whole object into `target` (created); returns its size."""
        ...

    async def head(self, key: str) -> StoredObject:
        """The object's size and ETag, or ObjectNotFound."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Remove the objects; one that is already gone counts as removed."""
        ...

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with `prefix`."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file when it lies on this machine's disk (so it can be sent with
        sendfile); None for remote stores."""
        ...

    async def check(self) -> None:
        """Raise StorageUnavailable unless the store answers."""
        ...

    async def close(self) -> None: ...
