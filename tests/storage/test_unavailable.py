"""A store that is down, or a bucket that does not exist, is reported as unavailable —
quickly, by /readyz too — and never as a missing object."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from service.errors import StorageUnavailable
from service.http.app import create_app
from service.settings import Settings
from service.storage.s3 import S3Storage
from tests.seaweed import SeaweedS3


def dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once closed


async def test_an_unreachable_store_is_unavailable_within_seconds() -> None:
    storage = S3Storage("vr-test", "x", endpoint=dead_endpoint(), region="us-east-1")
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await storage.check()
    with pytest.raises(StorageUnavailable):
        await storage.head("uploads/x/y.mp4")
    assert time.monotonic() - started < 15


async def test_a_missing_bucket_is_unavailable(seaweed: SeaweedS3) -> None:
    storage = S3Storage("no-such-bucket", "", endpoint=seaweed.endpoint, region="us-east-1")
    with pytest.raises(StorageUnavailable):
        await storage.check()
    with pytest.raises(StorageUnavailable):
        await storage.put_stream("uploads/x/y.mp4", _one(b"data"))
    with pytest.raises(StorageUnavailable):
        await storage.list("uploads/x/")


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_readyz_reports_the_bucket_reachable(
    aiohttp_client: Any, settings: Settings, seaweed: SeaweedS3
) -> None:
    s3 = settings.model_copy(update={"storage_url": seaweed.url(), "s3_endpoint": seaweed.endpoint})
    client = await aiohttp_client(create_app(s3))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 200, body
    assert body["storage"] == {"ok": True, "backend": "s3"}


async def test_readyz_reports_the_local_disk_by_default(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    body = await (await client.get("/readyz")).json()
    assert body["storage"] == {"ok": True, "backend": "disk"}


async def test_readyz_is_unavailable_while_the_bucket_is_down(
    aiohttp_client: Any, settings: Settings, tmp_path: Path
) -> None:
    down = settings.model_copy(
        update={"storage_url": "s3://vr-test/x", "s3_endpoint": dead_endpoint()}
    )
    client = await aiohttp_client(create_app(down))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503, body
    assert body["storage"]["ok"] is False
    assert body["storage"]["backend"] == "s3"
