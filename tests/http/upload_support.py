"""Build multipart upload bodies by hand (so tests control order, size and truncation) and
check that a failed upload left nothing behind."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg

from service.settings import Settings

FTYP_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
FTYP_MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "

Part = tuple[str, str | None, bytes]  # field name, file name (None for a plain field), content


def video(name: str, content: bytes | Path) -> Part:
    return ("videos", name, content.read_bytes() if isinstance(content, Path) else content)


def field(name: str, value: str) -> Part:
    return (name, None, value.encode())


def multipart(*parts: Part, boundary: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and the Content-Type header for `parts`, in the order given."""
    boundary = boundary or uuid.uuid4().hex
    body = bytearray()
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            body += b"Content-Type: application/octet-stream\r\n"
        body += b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def left_on_disk(settings: Settings) -> list[Path]:
    uploads = settings.uploads_dir
    return sorted(p for p in uploads.rglob("*")) if uploads.exists() else []


async def event_count(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(*) FROM events")


async def assert_nothing_left(settings: Settings, pool: asyncpg.Pool) -> None:
    assert left_on_disk(settings) == []
    assert await event_count(pool) == 0
