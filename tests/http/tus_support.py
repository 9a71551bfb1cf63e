"""Speak tus by hand (so tests control every header), and look at what is stored."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from service.settings import Settings
from tests.http.upload_support import FTYP_MP4

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def video_bytes(size: int) -> bytes:
    """`size` bytes that sniff as MP4 (an `ftyp` box, then noise)."""
    return FTYP_MP4 + os.urandom(size - len(FTYP_MP4))


def metadata(filename: str = "ad.mp4", **more: str) -> str:
    pairs = {"filename": filename, **more}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def create(
    client: Any,
    auth: dict[str, str],
    length: int,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> Any:
    """POST a new upload; the response (its Location names it)."""
    sent = {**auth, **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata()}
    return await client.post("/api/uploads", headers={**sent, **(headers or {})}, data=data)


async def new_upload(client: Any, headers: dict[str, str], length: int) -> str:
    response = await create(client, headers, length)
    assert response.status == 201, await response.text()
    return str(response.headers["Location"])


async def patch(
    client: Any, headers: dict[str, str], location: str, offset: int, data: bytes, **more: str
) -> Any:
    return await client.patch(
        location,
        data=data,
        headers={**headers, **TUS, **OCTETS, "Upload-Offset": str(offset), **more},
    )


async def offset_of(client: Any, headers: dict[str, str], location: str) -> int:
    response = await client.head(location, headers={**headers, **TUS})
    assert response.status == 200, response.status
    return int(response.headers["Upload-Offset"])


async def upload_whole(client: Any, headers: dict[str, str], data: bytes) -> str:
    """A finished upload of `data`, in two PATCHes; its id."""
    location = await new_upload(client, headers, len(data))
    half = len(data) // 2
    for start, end in ((0, half), (half, len(data))):
        response = await patch(client, headers, location, start, data[start:end])
        assert response.status == 204, await response.text()
    return location.rsplit("/", 1)[1]


def stored(settings: Settings, location: str) -> Path:
    return settings.tus_dir / location.rsplit("/", 1)[1]


async def assert_error(response: Any, status: int, code: str, **fields: Any) -> dict[str, Any]:
    assert response.status == status, await response.text()
    if response.url.path.startswith("/api/uploads"):
        assert response.headers["Tus-Resumable"] == "1.0.0"
    body = await response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    for key, value in fields.items():
        assert body["error"][key] == value, body
    return body  # type: ignore[no-any-return]
