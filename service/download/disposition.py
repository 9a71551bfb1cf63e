"""`Content-Disposition` for the download (RFC 6266 with RFC 8187/5987 `filename*`).

Modern browsers take the exact UTF-8 name from `filename*`; old ones fall back to a plain
ASCII `filename`, stripped of anything that could break out of the quoted string.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

# Used when nothing of the name survives the ASCII fallback.
FALLBACK_FILENAME = "download.zip"


def content_disposition(filename: str) -> str:
    """`attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`."""
    printable = "".join(ch for ch in filename if not unicodedata.category(ch).startswith("C"))
    printable = printable.strip() or FALLBACK_FILENAME
    return (
        f'attachment; filename="{ascii_fallback(printable)}"; '
        f"filename*=UTF-8''{quote(printable, safe='')}"
    )


def ascii_fallback(filename: str) -> str:
    """An ASCII look-alike of `filename` that is safe inside a quoted-string."""
    decomposed = unicodedata.normalize("NFKD", filename)
    ascii_only = decomposed.encode("ascii", errors="ignore").decode("ascii")
    safe = "".join("_" if ch in '"\\' else ch for ch in ascii_only if ch.isprintable()).strip()
    return safe or FALLBACK_FILENAME
