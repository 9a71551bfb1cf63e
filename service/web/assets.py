"""The page's static files, read once at start and served from memory with strong ETags.

The files are few and small (the largest is the vendored tus-js-client, ~50 KiB), so
holding them in memory costs little and keeps every request off the disk. The ETag is a
hash of the bytes: a deploy that changes a file changes its tag, and `no-cache` makes the
browser revalidate each time, so a page never mixes old and new modules.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets(root: Path = STATIC_DIR) -> dict[str, Asset]:
    """Every file under `root` by its relative path. Blocking: run it in a thread."""
    assets = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        kind = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "text/plain"
        if kind.startswith("text/") or kind.endswith("+xml"):
            kind += "; charset=utf-8"
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        assets[path.relative_to(root).as_posix()] = Asset(body, kind, etag)
    return assets
