"""Which container a file is, decided by its first bytes, never by its name.

MP4 and MOV are both ISO-BMFF: the first box is `ftyp` (bytes 4..8), and its major brand
(bytes 8..12) is `qt  ` for QuickTime MOV.
"""

from __future__ import annotations

HEAD_BYTES = 12  # box size, box type, major brand
_QUICKTIME = b"qt  "


def container_extension(head: bytes) -> str | None:
    """`.mov`, `.mp4`, or None when `head` does not start with an `ftyp` box."""
    if len(head) < HEAD_BYTES or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    if size not in (0, 1) and size < HEAD_BYTES:  # 0: to end of file; 1: 64-bit size follows
        return None
    return ".mov" if head[8:12] == _QUICKTIME else ".mp4"
