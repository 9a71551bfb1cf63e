"""The S3 backend on obstore: async ranged reads guarded by If-Match, streaming multipart puts.

obstore (Rust's `object_store` behind a thin Python layer) does every request off the
event loop in its own runtime, streams a put from an async iterator as a multipart
upload (memory = part size x parts in flight). Its errors are
translated here, at one seam: a missing object, a failed `If-Match`, and everything
else (connection refused, timeouts, 5xx after retries, a missing bucket) as the store
being unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import obstore
from obstore.exceptions import NotFoundError, PreconditionError
from obstore.store import S3Store

from service.errors import ObjectChanged, ObjectNotFound, StorageError, StorageUnavailable
from service.storage.interface import StoredObject
from service.storage.keys import check_key

log = logging.getLogger(__name__)

PART_BYTES = 8 * 1024 * 1024  # multipart part size (S3's minimum is 5 MiB)
PARTS_IN_FLIGHT = 4  # so a streaming put holds at most ~32 MiB
FETCH_CHUNK_BYTES = 4 * 1024 * 1024  # fetch_to_file writes this much per thread hop
# A store that is down must fail fast: a few retries, then StorageUnavailable.
RETRY: Any = {
    "max_retries": 2,
    "retry_timeout": timedelta(seconds=5),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=1)},
}
CLIENT: Any = {"connect_timeout": timedelta(seconds=2), "timeout": timedelta(seconds=120)}


class S3Storage:
    """Objects in `bucket` under `prefix`, on AWS or any S3-compatible endpoint."""

    kind = "s3"

    def __init__(
        self, bucket: str, prefix: str, *, endpoint: str | None, region: str | None
    ) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        config: dict[str, Any] = {}
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False
        if region:
            config["region"] = region
        client = dict(CLIENT)
        if endpoint and endpoint.startswith("http://"):
            client["allow_http"] = True
        self.store = S3Store(
            bucket,
            prefix=self.prefix or None,
            client_options=client,
            retry_config=RETRY,
            **config,
        )

    def local_path(self, key: str) -> Path | None:
        return None

    async def put_stream(self, key: str, chunks: AsyncIterable[bytes]) -> StoredObject:
        counted = _Counted(chunks)
        try:
            etag = await self._put(key, counted)
        except StorageError:
            if counted.error is not None:
                raise counted.error from None  # the producer's own error, not the store's
            raise
        return StoredObject(key, counted.size, etag)

    async def put_file(self, key: str, path: Path) -> StoredObject:
        size = (await asyncio.to_thread(path.stat)).st_size
        return StoredObject(key, size, await self._put(key, path))

    async def _put(self, key: str, source: Path | AsyncIterable[bytes]) -> str:
        """Upload `source` as a multipart put (PART_BYTES parts, PARTS_IN_FLIGHT at once):
        the stored object's ETag."""
        with _translated(key, writing=True):
            result = await obstore.put_async(
                self.store,
                check_key(key),
                source,
                chunk_size=PART_BYTES,
                max_concurrency=PARTS_IN_FLIGHT,
            )
        return _etag(result.get("e_tag"), key)

    async def get_range(self, key: str, start: int, end: int, *, if_match: str) -> bytes:
        with _translated(key, if_match):
            got = await obstore.get_async(
                self.store, check_key(key), options={"range": (start, end), "if_match": if_match}
            )
            data = bytes(await got.bytes_async())
        if len(data) != end - start:
            raise ObjectChanged(key, if_match)  # the object is shorter than recorded
        return data

    async def fetch_to_file(self, key: str, target: Path, *, if_match: str | None) -> int:
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        file = await asyncio.to_thread(open, target, "xb")
        size = 0
        try:
            with _translated(key, if_match):
                options: Any = {"if_match": if_match} if if_match else {}
                got = await obstore.get_async(self.store, check_key(key), options=options)
                async for chunk in got.stream(min_chunk_size=FETCH_CHUNK_BYTES):
                    await asyncio.to_thread(file.write, chunk)
                    size += len(chunk)
        finally:
            await asyncio.shield(asyncio.ensure_future(asyncio.to_thread(file.close)))
        return size

    async def head(self, key: str) -> StoredObject:
        with _translated(key):
            meta = await obstore.head_async(self.store, check_key(key))
        return StoredObject(key, meta["size"], _etag(meta.get("e_tag"), key))

    async def delete(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        checked = [check_key(key) for key in keys]
        with _translated(checked[0], writing=True):
            await obstore.delete_async(self.store, checked)

    async def list(self, prefix: str) -> list[StoredObject]:
        found = []
        with _translated(prefix, writing=True):
            async for batch in obstore.list(self.store, prefix=prefix):
                found += [StoredObject(m["path"], m["size"], _etag(m.get("e_tag"), m["path"]))
                          for m in batch]  # fmt: skip
        return sorted(found, key=lambda o: o.key)

    async def check(self) -> None:
        """The bucket answers a listing (a missing bucket counts as unavailable)."""
        try:
            with _translated(""):
                await obstore.list_with_delimiter_async(self.store, prefix="uploads/")
        except ObjectNotFound:
            raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from None

    async def close(self) -> None:
        return None


class _Counted:
    """An async iterable that counts the bytes passing through it and keeps the error that
    ended it, which obstore would otherwise report as its own."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self.error: BaseException | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                self.size += len(chunk)
                yield chunk
        except Exception as exc:
            self.error = exc
            raise


def _etag(etag: str | None, key: str) -> str:
    if not etag:
        raise StorageError(f"the store returned no ETag for {key!r}")
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'


@contextlib.contextmanager
def _translated(key: str, if_match: str | None = None, *, writing: bool = False) -> Iterator[None]:
    """obstore's errors as ours. A 404 while writing, listing or deleting can only mean
    the bucket is missing: the store is unavailable, not an object."""
    try:
        yield
    except (NotFoundError, FileNotFoundError):  # obstore raises the builtin at runtime
        if writing:
            _unavailable(key, RuntimeError(f"404 while writing {key!r}: no such bucket?"))
        raise ObjectNotFound(key) from None
    except PreconditionError:
        raise ObjectChanged(key, if_match) from None
    except StorageError:
        raise
    except Exception as exc:  # obstore's other errors, OSError, timeouts
        _unavailable(key, exc)


def _unavailable(key: str, exc: BaseException) -> NoReturn:
    detail = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    log.warning("object store unavailable (%s): %s", key, detail,
                extra={"action": "storage.unavailable"})  # fmt: skip
    raise StorageUnavailable(detail) from None
