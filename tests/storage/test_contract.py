"""The contract both backends keep: whole objects by key, ETags that change on replace,
ranged reads guarded by If-Match, idempotent deletes, listings by prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.errors import InvalidObjectKey, ObjectChanged, ObjectNotFound
from service.storage.interface import ObjectStorage
from service.storage.keys import check_key, output_key, upload_key
from service.storage.reading import read_range


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def key(name: str = "a.mp4") -> str:
    return f"uploads/{uuid.uuid4()}/{name}"


async def test_a_streamed_object_reads_back_whole_with_its_size_and_etag(
    storage: ObjectStorage,
) -> None:
    # Given a body in three chunks, one larger than an S3 part
    body = [os.urandom(100), os.urandom(9 * 1024 * 1024), os.urandom(7)]
    name = key()
    # When it is stored
    stored = await storage.put_stream(name, chunks(*body))
    # Then head, ranges and a fetch agree with it
    whole = b"".join(body)
    assert stored.size == len(whole)
    assert (await storage.head(name)) == stored
    assert await storage.get_range(name, 50, 150, if_match=stored.etag) == whole[50:150]
    streamed = b"".join([c async for c in read_range(storage, name, 3, len(whole), etag=stored.etag,
                                                      chunk_bytes=1024 * 1024)])  # fmt: skip
    assert streamed == whole[3:]


async def test_a_replaced_object_has_a_new_etag_and_old_reads_are_refused(
    storage: ObjectStorage,
) -> None:
    name = key()
    first = await storage.put_stream(name, chunks(b"first version"))
    second = await storage.put_stream(name, chunks(b"other version"))
    assert first.etag != second.etag
    with pytest.raises(ObjectChanged):
        await storage.get_range(name, 0, 5, if_match=first.etag)
    with pytest.raises(ObjectChanged):
        [c async for c in read_range(storage, name, 0, 13, etag=first.etag)]


async def test_a_file_is_stored_and_fetched_to_another_file(
    storage: ObjectStorage, tmp_path: Path
) -> None:
    source = tmp_path / "render.mp4"
    source.write_bytes(b"rendered" * 1000)
    name = output_key(uuid.uuid4(), uuid.uuid4(), 1, 1)
    stored = await storage.put_file(name, source)
    target = tmp_path / "fetched" / "source.mp4"
    size = await storage.fetch_to_file(name, target, if_match=stored.etag)
    assert size == stored.size == 8000
    assert target.read_bytes() == b"rendered" * 1000


async def test_deleting_is_idempotent_and_listing_finds_what_is_left(
    storage: ObjectStorage,
) -> None:
    job = uuid.uuid4()
    keys = [upload_key(job, uuid.uuid4(), ".mp4") for _ in range(3)]
    for name in keys:
        await storage.put_stream(name, chunks(b"x"))
    assert [o.key for o in await storage.list(f"uploads/{job}/")] == sorted(keys)
    await storage.delete([keys[0], keys[1], key()])  # one never existed
    await storage.delete([keys[0]])  # already gone
    assert [o.key for o in await storage.list(f"uploads/{job}/")] == [keys[2]]
    with pytest.raises(ObjectNotFound):
        await storage.head(keys[0])


async def test_a_producer_error_reaches_the_caller_and_stores_nothing(
    storage: ObjectStorage,
) -> None:
    name = key()

    async def failing() -> AsyncIterator[bytes]:
        yield b"half"
        raise ValueError("the client went away")

    with pytest.raises(ValueError, match="went away"):
        await storage.put_stream(name, failing())
    with pytest.raises(ObjectNotFound):
        await storage.head(name)
    assert await storage.list(name.rsplit("/", 1)[0] + "/") == []


async def test_keys_outside_the_store_are_refused(storage: ObjectStorage) -> None:
    for bad in ("../etc/passwd", "/abs", "uploads//x", "a/./b", "a\\b", "uploads/\x00"):
        with pytest.raises(InvalidObjectKey):
            check_key(bad)
        with pytest.raises(InvalidObjectKey):
            await storage.head(bad)
